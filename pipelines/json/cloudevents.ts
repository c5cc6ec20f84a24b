/**
 * `cloudevents`: structured-mode CloudEvents 1.0 JSON (specversion, id, source, type, time,
 * subject, data), with the auth-context extension (authtype, authid) for the actor.
 */
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, text } from './fields.js';
import type { JsonProfile } from './profile.js';

const CONTEXT = new Set(['specversion', 'id', 'source', 'type', 'time', 'subject', 'data', 'data_base64', 'datacontenttype', 'dataschema', 'authtype', 'authid', 'tenantid']);
/** The distributed-tracing extension's W3C traceparent: version-traceid-spanid-flags. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const AUTH_TYPES: Record<string, string> = { app_user: 'user', user: 'user', service_account: 'service', api_key: 'api_key', system: 'system', unauthenticated: 'unknown', unknown: 'unknown' };

export const cloudeventsProfile: JsonProfile = {
  name: 'cloudevents',
  fields: { eventType: 'type', actor: 'authid' },
  matches: (record) => typeof record.specversion === 'string',
  map(record): EventDraft {
    const data = record.data;
    const attributes: Record<string, string> = { 'cloudevents.source': text(record.source) };
    // A well-formed traceparent becomes trace_id/span_id; anything else stays an attribute.
    const parsed = TRACEPARENT.exec(text(record.traceparent).trim().toLowerCase());
    const trace = parsed && !/^0+$/.test(parsed[1]!) && !/^0+$/.test(parsed[2]!) ? parsed : null;
    for (const [key, value] of Object.entries(record)) {
      if (trace && key === 'traceparent') continue;
      if (!CONTEXT.has(key)) attributes[`cloudevents.${key}`] = isObject(value) || Array.isArray(value) ? JSON.stringify(value) : text(value);
    }
    return {
      ...emptyDraft(),
      eventId: text(record.id),
      tenant: text(record.tenantid),
      occurredAt: record.time === undefined || record.time === null ? undefined : timestampToNanos(record.time, 'time'),
      eventType: text(record.type),
      actorId: text(record.authid),
      actorType: AUTH_TYPES[text(record.authtype)] ?? '',
      resourceId: text(record.subject),
      message: typeof data === 'string' ? data : '',
      metadata: isObject(data) ? data : data === undefined || typeof data === 'string' ? {} : { data },
      attributes,
      serviceName: text(record.source),
      traceId: trace ? trace[1]! : '',
      spanId: trace ? trace[2]! : '',
    };
  },
};
