/** Stored rows as the API shows them: contract column names, RFC 3339 times in UTC, JSON objects parsed. */

export type StoredRow = Record<string, unknown>;

/**
 * The SELECT list: every column as stored (no aliases: an alias named like a column would
 * shadow it in WHERE and ORDER BY). JSON output gives times as "YYYY-MM-DD hh:mm:ss.nnnnnnnnn".
 */
export const ROW_COLUMNS = `event_id, tenant_id, occurred_at, received_at, event_type, action, outcome, actor_id,
  actor_name, actor_email, actor_type, client_ip, user_agent, team_id, project_id, resource_type, resource_id,
  resource_name, request_method, request_url, message, changes, metadata, attributes, resource_attributes, service_name,
  severity_text, severity_number, trace_id, span_id, source, raw, retention_days, collector_id, ingest_seq`;

export const CSV_COLUMNS = [
  'event_id', 'tenant_id', 'occurred_at', 'received_at', 'event_type', 'action', 'outcome', 'actor_id', 'actor_name',
  'actor_email', 'actor_type', 'client_ip', 'user_agent', 'team_id', 'project_id', 'resource_type', 'resource_id',
  'resource_name', 'request_method', 'request_url', 'message', 'changes', 'metadata', 'attributes', 'resource_attributes',
  'service_name', 'severity_text', 'severity_number', 'trace_id', 'span_id', 'source', 'retention_days', 'collector_id', 'ingest_seq',
] as const;

/** "2026-11-21 10:00:00.123456789" -> "2026-11-21T10:00:00.123456789Z" */
export const rfc3339 = (clickhouseTime: string): string => `${clickhouseTime.replace(' ', 'T')}Z`;

function parseObject(text: unknown): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    return text;
  }
}

export function toApiEvent(row: StoredRow): StoredRow {
  return {
    ...row,
    occurred_at: rfc3339(String(row.occurred_at)),
    received_at: rfc3339(String(row.received_at)),
    changes: parseObject(row.changes),
    metadata: parseObject(row.metadata),
  };
}

function csvField(value: unknown): string {
  const text = typeof value === 'string' ? value : value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value ?? '');
  // RFC 4180: quote fields holding a comma, quote or line break; double the quotes.
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvHeader = (): string => `${CSV_COLUMNS.join(',')}\r\n`;

export function csvLine(event: StoredRow): string {
  return `${CSV_COLUMNS.map((column) => csvField(event[column])).join(',')}\r\n`;
}
