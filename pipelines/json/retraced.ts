/**
 * `retraced`: Retraced-style events: {action, crud, actor{id,name}, target{id,name,type},
 * group{id}, source_ip, is_failure, description, fields, created}.
 */
import { InvalidValueError } from '../otlp/values.js';
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, object, rest, text } from './fields.js';
import type { JsonProfile } from './profile.js';

const KNOWN = new Set(['id', 'action', 'crud', 'actor', 'target', 'group', 'source_ip', 'is_failure', 'description', 'fields', 'created', 'is_anonymous', 'crud']);
const CRUD: Record<string, string> = { c: 'create', r: 'read', u: 'update', d: 'delete' };

export const retracedProfile: JsonProfile = {
  name: 'retraced',
  fields: { eventType: 'action', actor: 'actor.id or actor.name' },
  matches: (record) => typeof record.crud === 'string' || (typeof record.action === 'string' && (isObject(record.target) || isObject(record.group))),
  map(record): EventDraft {
    const actor = object(record.actor);
    const target = object(record.target);
    const crud = text(record.crud).toLowerCase();
    if (crud !== '' && !CRUD[crud]) throw new InvalidValueError('crud must be one of c, r, u, d');
    const fields = record.fields;
    if (fields !== undefined && fields !== null && !isObject(fields)) throw new InvalidValueError('fields must be an object');
    const extra = rest(record, KNOWN);
    return {
      ...emptyDraft(),
      eventId: text(record.id),
      tenant: text(object(record.group).id),
      occurredAt: record.created === undefined || record.created === null ? undefined : timestampToNanos(record.created, 'created'),
      eventType: text(record.action),
      action: crud ? CRUD[crud]! : '',
      outcome: record.is_failure === true ? 'failure' : record.is_failure === false ? 'success' : '',
      actorId: text(actor.id),
      actorName: text(actor.name),
      actorType: record.is_anonymous === true ? 'unknown' : '',
      clientIp: text(record.source_ip),
      resourceType: text(target.type),
      resourceId: text(target.id),
      resourceName: text(target.name),
      message: text(record.description),
      metadata: { ...object(fields), ...extra },
    };
  },
};
