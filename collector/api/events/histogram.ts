/**
 * GET /api/v1/events/histogram: events per time bucket, by outcome, with the list's
 * filters. The interval is picked so the range makes at most MAX_BUCKETS buckets; empty
 * buckets are included so a chart needs no gap filling. Counted over FINAL, which merges
 * resent copies by the same key the list drops them by, so the counts equal the list's.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { whereOf, type EventFilter } from './filter.js';

/** Bucket widths in seconds, smallest first. */
const INTERVALS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400, 30 * 86_400];
const MAX_BUCKETS = 120;
const NS = 1_000_000_000n;

export interface Bucket {
  start: string;
  success: number;
  failure: number;
  unknown: number;
  total: number;
}

export interface Histogram {
  interval_seconds: number;
  from: string | null;
  to: string | null;
  total: number;
  buckets: Bucket[];
}

/** The smallest listed interval that covers `seconds` in at most MAX_BUCKETS buckets. */
export function intervalFor(seconds: number): number {
  return INTERVALS.find((i) => seconds / i <= MAX_BUCKETS) ?? Math.ceil(seconds / MAX_BUCKETS / 86_400) * 86_400;
}

export async function histogram(client: ClickHouseClient, database: string, filter: EventFilter, timeLimitSeconds: number, nowMs = Date.now()): Promise<Histogram> {
  const settings = { max_execution_time: timeLimitSeconds, output_format_json_quote_64bit_integers: 0 as const };
  const where = whereOf(filter);
  let fromNs = filter.from !== undefined ? BigInt(filter.from) : undefined;
  const toNs = filter.to !== undefined ? BigInt(filter.to) : BigInt(nowMs) * 1_000_000n;
  if (fromNs === undefined) {
    // Without a start, the range begins at the oldest matching event.
    const result = await client.query({
      query: `SELECT toString(min(toUnixTimestamp64Nano(occurred_at))) AS oldest, count() AS n FROM ${database}.events WHERE ${where.sql}`,
      query_params: where.params,
      format: 'JSONEachRow',
      clickhouse_settings: settings,
    });
    const [row] = await result.json<{ oldest: string; n: number }>();
    if (!row || Number(row.n) === 0) return { interval_seconds: 0, from: null, to: null, total: 0, buckets: [] };
    fromNs = BigInt(row.oldest);
  }
  const span = Number((toNs - fromNs) / NS) + 1;
  const interval = intervalFor(Math.max(span, 1));
  const result = await client.query({
    query: `SELECT toUnixTimestamp(toStartOfInterval(toDateTime(occurred_at), toIntervalSecond({interval:UInt32}))) AS t, outcome, count() AS n
            FROM ${database}.events FINAL WHERE ${where.sql} GROUP BY t, outcome ORDER BY t`,
    query_params: { ...where.params, interval },
    format: 'JSONEachRow',
    clickhouse_settings: settings,
  });
  const rows = await result.json<{ t: number; outcome: string; n: number }>();
  const first = Math.floor(Number(fromNs / NS) / interval) * interval;
  const last = Math.floor(Number((toNs - 1n) / NS) / interval) * interval;
  const buckets = new Map<number, Bucket>();
  for (let t = first; t <= last; t += interval) buckets.set(t, { start: new Date(t * 1000).toISOString(), success: 0, failure: 0, unknown: 0, total: 0 });
  let total = 0;
  for (const row of rows) {
    const bucket = buckets.get(Number(row.t));
    if (!bucket) continue;
    const n = Number(row.n);
    if (row.outcome === 'success' || row.outcome === 'failure') bucket[row.outcome] += n;
    else bucket.unknown += n;
    bucket.total += n;
    total += n;
  }
  const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
  return { interval_seconds: interval, from: iso(fromNs), to: iso(toNs), total, buckets: [...buckets.values()] };
}
