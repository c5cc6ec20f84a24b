/**
 * Reads committed rows of this collector after a position, in ingest order, for export.
 * Runs on its own connection so exports never wait behind ingest commits or readers.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEvent } from '../../schemas/audit-event.js';
import { RowBinaryReader } from '../store/row-binary-reader.js';

/** A stored row as export reads it: the event's columns, its sequence number and exact time. */
export type ExportRow = Omit<AuditEvent, 'occurred_at' | 'received_at' | 'retention_days' | 'occurred_at_is_receive_time'> & {
  seq: number;
  occurred_ns: string;
  /** The record's bytes as received, when it may go out unchanged (read from the ingest log only). */
  wire?: Uint8Array;
};

/** The rows of read()'s SELECT, in its column order. */
export function readRows(data: Buffer): ExportRow[] {
  const r = new RowBinaryReader(data);
  const rows: ExportRow[] = [];
  while (!r.done) {
    rows.push({
      seq: r.uint64(),
      event_id: r.string(),
      tenant_id: r.string(),
      occurred_ns: r.string(),
      event_type: r.string(),
      action: r.string() as ExportRow['action'],
      outcome: r.string() as ExportRow['outcome'],
      actor_id: r.string(),
      actor_name: r.string(),
      actor_email: r.string(),
      actor_type: r.string() as ExportRow['actor_type'],
      client_ip: r.string(),
      user_agent: r.string(),
      team_id: r.string(),
      project_id: r.string(),
      resource_type: r.string(),
      resource_id: r.string(),
      resource_name: r.string(),
      request_method: r.string(),
      request_url: r.string(),
      message: r.string(),
      changes: r.string(),
      metadata: r.string(),
      attributes: r.stringMap(),
      resource_attributes: r.stringMap(),
      service_name: r.string(),
      severity_text: r.string(),
      severity_number: r.uint8(),
      trace_id: r.string(),
      span_id: r.string(),
      source: r.string(),
      raw: r.string(),
    });
  }
  return rows;
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

  /**
   * Up to `limit` rows with after < ingest_seq <= through, oldest first, as RowBinary
   * (handed to the export thread as is; readRows() parses them there).
   */
  async readRaw(after: number, through: number, limit: number, filter: RowFilter): Promise<Buffer> {
    const result = await this.client.exec({
      query: `SELECT toUInt64(ingest_seq) AS seq, event_id, tenant_id, toString(toUnixTimestamp64Nano(occurred_at)) AS occurred_ns,
                event_type, action, outcome, actor_id, actor_name, actor_email, actor_type, client_ip, user_agent,
                team_id, project_id, resource_type, resource_id, resource_name, request_method, request_url, message,
                changes, metadata, attributes, resource_attributes, service_name, severity_text, severity_number,
                trace_id, span_id, source, raw
              FROM ${this.database}.events
              WHERE ${this.where(filter)}
              ORDER BY ingest_seq LIMIT {limit:UInt32}
              FORMAT RowBinary`,
      query_params: { ...this.params(after, through, filter), limit },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
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
