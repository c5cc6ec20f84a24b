/**
 * `workos`: WorkOS audit-log events (as created through its API and streamed out):
 * {id?, organization_id?, action, occurred_at, version, actor{id,name,type,metadata},
 * targets[{id,type,name,metadata}], context{location,user_agent}, metadata}.
 * The first target is the resource; every target is kept in metadata.
 */
import { InvalidValueError } from '../otlp/values.js';
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, object, rest, text } from './fields.js';
import type { JsonProfile } from './profile.js';

const KNOWN = new Set(['id', 'organization_id', 'action', 'occurred_at', 'actor', 'targets', 'context', 'metadata']);

export const workosProfile: JsonProfile = {
  name: 'workos',
  fields: { eventType: 'action', actor: 'actor.id or actor.name' },
  // `targets` (a list) and an `actor` object set it apart from Retraced's single `target`.
  matches: (record) => typeof record.action === 'string' && isObject(record.actor) && Array.isArray(record.targets),
  map(record): EventDraft {
    const actor = object(record.actor);
    const targets = record.targets as unknown[];
    if (!targets.every(isObject)) throw new InvalidValueError('targets must be a list of objects');
    const target = object(targets[0]);
    const context = object(record.context);
    const metadata = record.metadata;
    if (metadata !== undefined && metadata !== null && !isObject(metadata)) throw new InvalidValueError('metadata must be an object');
    return {
      ...emptyDraft(),
      eventId: text(record.id),
      tenant: text(record.organization_id),
      occurredAt: record.occurred_at === undefined || record.occurred_at === null ? undefined : timestampToNanos(record.occurred_at, 'occurred_at'),
      eventType: text(record.action),
      actorId: text(actor.id),
      actorName: text(actor.name),
      actorType: text(actor.type),
      clientIp: text(context.location),
      userAgent: text(context.user_agent),
      resourceType: text(target.type),
      resourceId: text(target.id),
      resourceName: text(target.name),
      metadata: {
        ...object(metadata),
        ...(targets.length > 0 ? { targets } : {}),
        ...(isObject(actor.metadata) ? { actor_metadata: actor.metadata } : {}),
        ...rest(record, KNOWN),
      },
    };
  },
};
