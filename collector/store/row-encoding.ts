/**
 * Serializes events as JSONCompactEachRow lines in the column order of INSERT_COLUMNS.
 * A line is built in two parts: the event's own columns when a request is normalized
 * (spreading the cost over requests), and the store-assigned prefix (ingest_seq,
 * collector_id) when its batch is committed.
 */
import { AUDIT_EVENT_COLUMNS, type AuditEvent } from '../../schemas/audit-event.js';

const STORE_ASSIGNED = new Set(['ingest_seq', 'collector_id']);

/** Columns in the order a line lists them. */
export const INSERT_COLUMNS: readonly string[] = [
  'ingest_seq',
  'collector_id',
  ...AUDIT_EVENT_COLUMNS.map((c) => c.name).filter((name) => !STORE_ASSIGNED.has(name)),
];

/** "1700000000123456789" (ns) -> "1700000000.123456789", which DateTime64(9) parses exactly. */
export function nanosToDateTime64(nanos: string): string {
  const padded = nanos.padStart(10, '0');
  return `${padded.slice(0, -9)}.${padded.slice(-9)}`;
}

/** The event's columns as the tail of a JSON array: `"id","tenant",…]`. */
export function encodeEventColumns(e: AuditEvent): string {
  const json = JSON.stringify([
    e.event_id,
    e.tenant_id,
    nanosToDateTime64(e.occurred_at),
    nanosToDateTime64(e.received_at),
    e.event_type,
    e.action,
    e.outcome,
    e.actor_id,
    e.actor_name,
    e.actor_email,
    e.actor_type,
    e.client_ip,
    e.user_agent,
    e.team_id,
    e.project_id,
    e.resource_type,
    e.resource_id,
    e.resource_name,
    e.request_method,
    e.request_url,
    e.message,
    e.changes,
    e.metadata,
    e.attributes,
    e.resource_attributes,
    e.service_name,
    e.severity_text,
    e.severity_number,
    e.trace_id,
    e.span_id,
    e.source,
    e.raw,
    e.retention_days,
  ]);
  return json.slice(1);
}

/** Completes a line with what the store assigns at commit time. */
export function encodeLine(seq: number, collectorIdJson: string, columns: string): string {
  return `[${seq},${collectorIdJson},${columns}\n`;
}
