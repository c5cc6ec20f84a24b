/**
 * `cloudevents`: structured-mode CloudEvents 1.0 JSON (specversion, id, source, type, time,
 * subject, data), with the auth-context extension (authtype, authid) for the actor.
 */
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, text } from './fields.js';
import type { JsonProfile } from './profile.js';

const CONTEXT = new Set(['specversion', 'id', 'source', 'type', 'time', 'subject', 'data', 'data_base64', 'datacontenttype', 'dataschema', 'authtype', 'authid', 'tenantid']);
const AUTH_TYPES: Record<string, string> = { app_user: 'user', user: 'user', service_account: 'service', api_key: 'api_key', system: 'system', unauthenticated: 'unknown', unknown: 'unknown' };

export const cloudeventsProfile: JsonProfile = {
  name: 'cloudevents',
  fields: { eventType: 'type', actor: 'authid' },
  matches: (record) => typeof record.specversion === 'string',
  map(record): EventDraft {
    const data = record.data;
    const attributes: Record<string, string> = { 'cloudevents.source': text(record.source) };
    for (const [key, value] of Object.entries(record)) {
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
    };
  },
};
