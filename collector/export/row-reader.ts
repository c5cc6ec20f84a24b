/**
 * Reads committed rows of this collector after a position, in ingest order, for export.
 * Runs on its own connection so exports never wait behind ingest commits or readers.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface ExportRow {
  seq: number;
  event_id: string;
  tenant_id: string;
  occurred_ns: string;
  event_type: string;
  action: string;
  outcome: string;
  actor_id: string;
  actor_name: string;
  actor_email: string;
  actor_type: string;
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
}

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
