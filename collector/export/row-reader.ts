/**
 * Reads committed rows of this collector after a position, in ingest order, for export.
 * Runs on its own connection so exports never wait behind ingest commits or readers.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEvent } from '../../schemas/audit-event.js';

/** A stored row as export reads it: the event's columns, its sequence number and exact time. */
export type ExportRow = Omit<AuditEvent, 'occurred_at' | 'received_at' | 'retention_days' | 'occurred_at_is_receive_time'> & {
  seq: number;
  occurred_ns: string;
};

export interface RowFilter {
  tenant: string | undefined;
  eventTypes: readonly string[] | undefined;
}

export class RowReader {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly collectorId: string,
  ) {}

  private where(filter: RowFilter): string {
    return [
      'collector_id = {collector:String}',
      'ingest_seq > {after:UInt64}',
      'ingest_seq <= {through:UInt64}',
      filter.tenant !== undefined ? 'tenant_id = {tenant:String}' : '',
      filter.eventTypes !== undefined ? 'event_type IN {types:Array(String)}' : '',
    ]
      .filter(Boolean)
      .join(' AND ');
  }

  private params(after: number, through: number, filter: RowFilter): Record<string, unknown> {
    return { collector: this.collectorId, after, through, tenant: filter.tenant ?? '', types: filter.eventTypes ?? [] };
  }

  /** Up to `limit` rows with after < ingest_seq <= through, oldest first. */
  async read(after: number, through: number, limit: number, filter: RowFilter): Promise<ExportRow[]> {
    const result = await this.client.query({
      query: `SELECT toUInt64(ingest_seq) AS seq, event_id, tenant_id, toString(toUnixTimestamp64Nano(occurred_at)) AS occurred_ns,
                event_type, action, outcome, actor_id, actor_name, actor_email, actor_type, client_ip, user_agent,
                team_id, project_id, resource_type, resource_id, resource_name, request_method, request_url, message,
                changes, metadata, attributes, resource_attributes, service_name, severity_text, severity_number,
                trace_id, span_id, source, raw
              FROM ${this.database}.events
              WHERE ${this.where(filter)}
              ORDER BY ingest_seq LIMIT {limit:UInt32}`,
      query_params: { ...this.params(after, through, filter), limit },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return result.json<ExportRow>();
  }

  /** Rows waiting: after < ingest_seq <= through that pass the filter. */
  async count(after: number, through: number, filter: RowFilter): Promise<number> {
    const result = await this.client.query({
      query: `SELECT toString(count()) AS n FROM ${this.database}.events WHERE ${this.where(filter)}`,
      query_params: this.params(after, through, filter),
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }
}
