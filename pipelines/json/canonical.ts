/** `canonical`: the schema's own fields in snake_case, with actor, resource and request nested. */
import { InvalidValueError } from '../otlp/values.js';
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, jsonObject, object, text, type JsonObject } from './fields.js';
import type { JsonProfile } from './profile.js';

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new InvalidValueError(`${field} must be an object`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    const s = isObject(v) || Array.isArray(v) ? JSON.stringify(v) : text(v);
    if (key === '__proto__') Object.defineProperty(out, key, { value: s, enumerable: true, writable: true, configurable: true });
    else out[key] = s;
  }
  return out;
}

function objectField(record: JsonObject, field: string): JsonObject {
  const value = jsonObject(record[field]);
  if (!value) throw new InvalidValueError(`${field} must be a JSON object`);
  return value;
}

export const canonicalProfile: JsonProfile = {
  name: 'canonical',
  fields: { eventType: 'event_type', actor: 'actor.id, actor.name or actor.email' },
  matches: (record) => typeof record.event_type === 'string' && !('specversion' in record),
  map(record): EventDraft {
    const actor = object(record.actor);
    const resource = object(record.resource);
    const request = object(record.request);
    return {
      ...emptyDraft(),
      eventId: text(record.id ?? record.event_id),
      tenant: text(record.tenant_id),
      occurredAt: record.occurred_at === undefined || record.occurred_at === null ? undefined : timestampToNanos(record.occurred_at, 'occurred_at'),
      eventType: text(record.event_type),
      action: text(record.action),
      outcome: text(record.outcome),
      actorId: text(actor.id),
      actorName: text(actor.name),
      actorEmail: text(actor.email),
      actorType: text(actor.type),
      clientIp: text(record.client_ip),
      userAgent: text(record.user_agent),
      teamId: text(record.team_id),
      projectId: text(record.project_id),
      resourceType: text(resource.type),
      resourceId: text(resource.id),
      resourceName: text(resource.name),
      requestMethod: text(request.method),
      requestUrl: text(request.url),
      message: text(record.message),
      changes: objectField(record, 'changes'),
      metadata: objectField(record, 'metadata'),
      attributes: stringMap(record.attributes, 'attributes'),
      serviceName: text(record.service_name),
      severityText: text(record.severity_text),
      severityNumber: Number.isInteger(record.severity_number) ? Math.min(255, Math.max(0, record.severity_number as number)) : 0,
    };
  },
};
