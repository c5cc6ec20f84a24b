/**
 * The audit-event schema: the one source of truth for the columns of `audit.events`.
 * The DDL in clickhouse/migrations and the row serializer are checked against this list
 * by tests/schema.test.ts, so a column cannot be added in one place and forgotten in another.
 */

export const AUDIT_EVENT_COLUMNS = [
  { name: 'event_id', type: 'String', doc: "stable id: the source's id or a content hash" },
  { name: 'tenant_id', type: 'LowCardinality(String)', doc: 'organization the event belongs to' },
  { name: 'occurred_at', type: "DateTime64(9, 'UTC')", doc: 'when the action happened' },
  { name: 'received_at', type: "DateTime64(9, 'UTC')", doc: 'when the sidecar accepted it' },
  { name: 'event_type', type: 'LowCardinality(String)', doc: 'the action, e.g. user.login' },
  { name: 'action', type: 'LowCardinality(String)', doc: 'verb class' },
  { name: 'outcome', type: 'LowCardinality(String)', doc: 'success, failure, unknown' },
  { name: 'actor_id', type: 'String', doc: 'who did it' },
  { name: 'actor_name', type: 'String', doc: '' },
  { name: 'actor_email', type: 'String', doc: '' },
  { name: 'actor_type', type: 'LowCardinality(String)', doc: 'user, api_key, oauth2_client, service, system, unknown' },
  { name: 'client_ip', type: 'String', doc: 'from where' },
  { name: 'user_agent', type: 'String', doc: '' },
  { name: 'team_id', type: 'String', doc: 'scope inside the tenant' },
  { name: 'project_id', type: 'String', doc: '' },
  { name: 'resource_type', type: 'LowCardinality(String)', doc: 'what was affected' },
  { name: 'resource_id', type: 'String', doc: '' },
  { name: 'resource_name', type: 'String', doc: '' },
  { name: 'request_method', type: 'LowCardinality(String)', doc: 'HTTP method' },
  { name: 'request_url', type: 'String', doc: '' },
  { name: 'message', type: 'String', doc: 'human-readable description' },
  { name: 'changes', type: 'String', doc: 'JSON object {"field": {"old", "new"}}' },
  { name: 'metadata', type: 'String', doc: 'JSON object: the event-specific payload' },
  { name: 'attributes', type: 'Map(LowCardinality(String), String)', doc: 'unmapped OTLP attributes' },
  { name: 'resource_attributes', type: 'Map(LowCardinality(String), String)', doc: 'OTLP resource attributes' },
  { name: 'service_name', type: 'LowCardinality(String)', doc: 'emitting service' },
  { name: 'severity_text', type: 'LowCardinality(String)', doc: '' },
  { name: 'severity_number', type: 'UInt8', doc: '' },
  { name: 'trace_id', type: 'String', doc: 'hex, empty if none' },
  { name: 'span_id', type: 'String', doc: 'hex, empty if none' },
  { name: 'source', type: 'LowCardinality(String)', doc: 'otlp, json:betterstack, ...' },
  { name: 'raw', type: 'String', doc: 'the record as received (JSON)' },
  { name: 'retention_days', type: 'UInt16', doc: 'how long this row lives' },
  { name: 'collector_id', type: 'LowCardinality(String)', doc: 'which sidecar instance ingested it' },
  { name: 'ingest_seq', type: 'UInt64', doc: "that instance's monotonically increasing sequence" },
] as const;

export const ACTIONS = ['create', 'read', 'update', 'delete', 'login', 'logout', 'grant', 'revoke', 'other'] as const;
export type Action = (typeof ACTIONS)[number];

export const OUTCOMES = ['success', 'failure', 'unknown'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const ACTOR_TYPES = ['user', 'api_key', 'oauth2_client', 'service', 'system', 'unknown'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/**
 * A normalized event as pipelines produce it. Times are exact nanosecond timestamps as
 * decimal strings (`"1700000000123456789"`), never floats. `ingest_seq` and `collector_id`
 * are assigned by the store when the row is committed.
 */
export interface AuditEvent {
  event_id: string;
  tenant_id: string;
  occurred_at: string;
  received_at: string;
  event_type: string;
  action: Action;
  outcome: Outcome;
  actor_id: string;
  actor_name: string;
  actor_email: string;
  actor_type: ActorType;
  client_ip: string;
  user_agent: string;
  team_id: string;
  project_id: string;
  resource_type: string;
  resource_id: string;
  resource_name: string;
  request_method: string;
  request_url: string;
  message: string;
  changes: string;
  metadata: string;
  attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  service_name: string;
  severity_text: string;
  severity_number: number;
  trace_id: string;
  span_id: string;
  source: string;
  raw: string;
  retention_days: number;
  /**
   * Not a column: set when the source gave no time, so occurred_at is the receive time and
   * a resent copy differs in occurred_at (the store checks those for duplicates).
   */
  occurred_at_is_receive_time?: true;
}
