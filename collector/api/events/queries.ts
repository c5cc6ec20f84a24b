/**
 * The read side's queries, on the API's own connection (bounded in time, so no reader can
 * hold it long). A resent event is never shown twice (see page and byId).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ROW_COLUMNS, type StoredRow } from './format.js';
import { whereOf, type EventFilter } from './filter.js';
import { histogram, type Histogram } from './histogram.js';

/** Keyset position in newest-first order. */
export interface Cursor {
  t: string;
  tenant: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.t, cursor.tenant, cursor.id])).toString('base64url');
}

/** undefined when the text is not a cursor this API made. */
export function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && /^\d{1,20}$/.test(String(value[0])) && value.every((v) => typeof v === 'string')) {
      return { t: value[0] as string, tenant: value[1] as string, id: value[2] as string };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** Extra rows a page reads to make up for resent copies it drops. */
const DUPLICATE_SLACK = 20;

export interface Page {
  rows: StoredRow[];
  next: Cursor | undefined;
}

export class EventQueries {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly timeLimitSeconds: number,
  ) {}

  private async rows(query: string, params: Record<string, unknown>): Promise<StoredRow[]> {
    const result = await this.client.query({
      query,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: { max_execution_time: this.timeLimitSeconds, output_format_json_quote_64bit_integers: 1 },
    });
    return result.json<StoredRow>();
  }

  /**
   * One page, newest first, after `cursor`; `next` is set when more may follow.
   * Not FINAL: copies of a resent event share the whole sort key, so they arrive side by
   * side and are dropped here, and the strict `<` of the cursor skips any copy left on the
   * other side of a page boundary. Reading in sort order lets ClickHouse stop early.
   */
  async page(filter: EventFilter, limit: number, cursor: Cursor | undefined): Promise<Page> {
    const where = whereOf(filter);
    const after = cursor
      ? ` AND (toUnixTimestamp64Nano(occurred_at), tenant_id, event_id) < ({cursor_t:Int64}, {cursor_tenant:String}, {cursor_id:String})`
      : '';
    const fetch = limit + DUPLICATE_SLACK;
    const fetched = await this.rows(
      `SELECT ${ROW_COLUMNS}, toUnixTimestamp64Nano(occurred_at) AS occurred_ns
       FROM ${this.database}.events
       WHERE ${where.sql}${after}
       ORDER BY occurred_at DESC, tenant_id DESC, event_id DESC
       LIMIT {limit:UInt32}`,
      { ...where.params, limit: fetch, ...(cursor ? { cursor_t: cursor.t, cursor_tenant: cursor.tenant, cursor_id: cursor.id } : {}) },
    );
    const key = (row: StoredRow) => `${String(row.occurred_ns)}\u0000${String(row.tenant_id)}\u0000${String(row.event_id)}`;
    const unique = fetched.filter((row, i) => i === 0 || key(row) !== key(fetched[i - 1]!));
    const rows = unique.slice(0, limit);
    const last = rows[rows.length - 1];
    const more = unique.length > limit || fetched.length === fetch;
    const next = more && last ? { t: String(last.occurred_ns), tenant: String(last.tenant_id), id: String(last.event_id) } : undefined;
    for (const row of rows) delete row.occurred_ns;
    return { rows, next };
  }

  /** Counts per time bucket and outcome (see histogram.ts). */
  histogram(filter: EventFilter): Promise<Histogram> {
    return histogram(this.client, this.database, filter, this.timeLimitSeconds);
  }

  async byId(id: string, tenant: string | undefined): Promise<StoredRow | undefined> {
    const [row] = await this.rows(
      `SELECT ${ROW_COLUMNS} FROM ${this.database}.events FINAL
       WHERE event_id = {id:String}${tenant !== undefined ? ' AND tenant_id = {tenant:String}' : ''}
       ORDER BY occurred_at DESC LIMIT 1`,
      { id, tenant: tenant ?? '' },
    );
    return row;
  }

  /** Rows of this collector committed after `seq`, oldest first, for the live tail. */
  async after(collectorId: string, seq: number, through: number, filter: EventFilter, limit: number): Promise<StoredRow[]> {
    const where = whereOf(filter);
    return this.rows(
      `SELECT ${ROW_COLUMNS} FROM ${this.database}.events
       WHERE collector_id = {collector:String} AND ingest_seq > {after:UInt64} AND ingest_seq <= {through:UInt64} AND ${where.sql}
       ORDER BY ingest_seq LIMIT {limit:UInt32}`,
      { ...where.params, collector: collectorId, after: seq, through, limit },
    );
  }
}
