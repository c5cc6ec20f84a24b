/**
 * The last normalization stage every input format (OTLP and the JSON profiles) shares: what the source said (an
 * EventDraft) becomes a complete audit event, with the tenant resolved, the verb class,
 * outcome and actor type derived, retention applied and an id for id-less records.
 */
import type { AuditEvent } from '../../schemas/audit-event.js';
import { InvalidValueError } from '../otlp/values.js';
import { deriveAction, deriveActorType, deriveOutcome, normalizeMethod } from './derive.js';
import { contentHashId } from './event-id.js';
import { retentionDays, type RetentionPolicy } from './retention.js';

export interface IngestContext {
  /** The tenant of the token that sent the request; it overrides whatever the data says. */
  tenantOverride: string | undefined;
  /** When the sidecar accepted the request, in nanoseconds since the epoch. */
  receivedAtNanos: string;
  retention: RetentionPolicy;
}

/** What a source says about one event; '' (or undefined for times) where it says nothing. */
export interface EventDraft {
  eventId: string;
  tenant: string;
  occurredAt: string | undefined;
  eventType: string;
  action: string;
  outcome: string;
  actorId: string;
  actorName: string;
  actorEmail: string;
  actorType: string;
  clientIp: string;
  userAgent: string;
  teamId: string;
  projectId: string;
  resourceType: string;
  resourceId: string;
  resourceName: string;
  requestMethod: string;
  requestUrl: string;
  message: string;
  /** JSON objects, or their JSON text when the source gave it as such. */
  changes: Record<string, unknown> | string;
  metadata: Record<string, unknown> | string;
  attributes: Record<string, string>;
  resourceAttributes: Record<string, string>;
  serviceName: string;
  severityText: string;
  severityNumber: number;
  traceId: string;
  spanId: string;
  /** What besides the record itself tells id-less records apart (e.g. their OTLP resource). */
  identity: string;
}

export const emptyDraft = (): EventDraft => ({
  eventId: '', tenant: '', occurredAt: undefined, eventType: '', action: '', outcome: '',
  actorId: '', actorName: '', actorEmail: '', actorType: '', clientIp: '', userAgent: '',
  teamId: '', projectId: '', resourceType: '', resourceId: '', resourceName: '',
  requestMethod: '', requestUrl: '', message: '', changes: {}, metadata: {}, attributes: {},
  resourceAttributes: {}, serviceName: '', severityText: '', severityNumber: 0, traceId: '', spanId: '', identity: '',
});

const jsonText = (value: Record<string, unknown> | string): string => (typeof value === 'string' ? value : JSON.stringify(value));

const MS_PER_DAY = 86_400_000;
/** The TTL expression converts occurred_at to DateTime, whose range ends in 2106. */
const LAST_STORABLE_MS = 4_294_967_295_000;
const nanosToMs = (nanos: string): number => (nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0);

/**
 * ClickHouse drops a row already past its TTL at insert. Say so instead of answering 200
 * for a record that would silently not be stored.
 */
export function assertStorableTime(occurredAt: string, days: number, receivedAt: string): void {
  const occurredMs = nanosToMs(occurredAt);
  if (occurredMs > LAST_STORABLE_MS) {
    throw new InvalidValueError('timestamp is after 2106-02-07, beyond what retention (DateTime) can express', 'outside_retention');
  }
  // The TTL (a DateTime) would wrap around to 1970 and the row be deleted at the next merge.
  if (occurredMs + days * MS_PER_DAY > LAST_STORABLE_MS) {
    throw new InvalidValueError(`timestamp plus its retention of ${days} days is after 2106-02-07, beyond what retention (DateTime) can express`, 'outside_retention');
  }
  if (occurredMs + days * MS_PER_DAY <= nanosToMs(receivedAt)) {
    throw new InvalidValueError(`record occurred more than ${days} days ago, past its tenant's retention; not stored`, 'outside_retention');
  }
}

/** Where a format looks for the event type and the actor, for the rejection message. */
export interface FieldHint {
  eventType: string;
  actor: string;
}

export function assertIdentifiable(eventType: string, actorId: string, actorName: string, actorEmail: string, hint: FieldHint): void {
  if (eventType === '' && actorId === '' && actorName === '' && actorEmail === '') {
    throw new InvalidValueError(`record has no recognisable event type (${hint.eventType}) and no actor (${hint.actor})`, 'no_event_type_or_actor');
  }
}

/** The tenant of an event that names none. */
export const DEFAULT_TENANT = 'default';

export function finishEvent(draft: EventDraft, source: string, raw: string, ctx: IngestContext, hint: FieldHint): AuditEvent {
  assertIdentifiable(draft.eventType, draft.actorId, draft.actorName, draft.actorEmail, hint);
  const tenant = ctx.tenantOverride ?? (draft.tenant || DEFAULT_TENANT);
  const occurredAt = draft.occurredAt ?? ctx.receivedAtNanos;
  const retention = retentionDays(tenant, ctx.retention, occurredAt);
  assertStorableTime(occurredAt, retention, ctx.receivedAtNanos);
  const requestMethod = normalizeMethod(draft.requestMethod);
  const hasUser = draft.actorId !== '' || draft.actorName !== '' || draft.actorEmail !== '';
  return {
    event_id: draft.eventId || contentHashId(tenant, source, draft.identity, raw),
    tenant_id: tenant,
    occurred_at: occurredAt,
    received_at: ctx.receivedAtNanos,
    event_type: draft.eventType,
    action: deriveAction(draft.action, draft.eventType, requestMethod),
    outcome: deriveOutcome(draft.outcome, draft.eventType, draft.severityNumber),
    actor_id: draft.actorId,
    actor_name: draft.actorName,
    actor_email: draft.actorEmail,
    actor_type: deriveActorType(draft.actorType, hasUser),
    client_ip: draft.clientIp,
    user_agent: draft.userAgent,
    team_id: draft.teamId,
    project_id: draft.projectId,
    resource_type: draft.resourceType,
    resource_id: draft.resourceId,
    resource_name: draft.resourceName,
    request_method: requestMethod,
    request_url: draft.requestUrl,
    message: draft.message,
    changes: jsonText(draft.changes),
    metadata: jsonText(draft.metadata),
    attributes: draft.attributes,
    resource_attributes: draft.resourceAttributes,
    service_name: draft.serviceName,
    severity_text: draft.severityText,
    severity_number: draft.severityNumber,
    trace_id: draft.traceId,
    span_id: draft.spanId,
    source,
    raw,
    retention_days: retention,
    ...(draft.occurredAt === undefined ? { occurred_at_is_receive_time: true as const } : {}),
  };
}
