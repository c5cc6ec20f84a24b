/**
 * Retention under control: the policy in config (default days, per-tenant days, legal
 * holds) applied to rows already stored. A row's retention_days becomes its tenant's days,
 * or, while a hold on its tenant lasts, enough days to outlive the hold's `until`; the TTL
 * then removes what is past it (at once with OPTIMIZE … FINAL). The leaves' expires_at
 * follow, so verify tells rows expired under the new policy from deleted ones.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RetentionConfig } from '../config/load.js';

export interface RetentionPolicy {
  default_days: number;
  tenants: Record<string, number>;
  holds: Array<{ tenant: string; reason: string; until: string; active: boolean }>;
}

export function retentionPolicy(config: RetentionConfig, now = Date.now()): RetentionPolicy {
  return {
    default_days: config.defaultDays,
    tenants: { ...config.tenants },
    holds: config.holds.map((h) => ({ ...h, active: Date.parse(h.until) > now })),
  };
}

/** retention_days a row should have now, as SQL over `tenant_id` and `occurredSeconds`, with its parameters. */
function targetDays(config: RetentionConfig, occurredSeconds: string, now: number) {
  const holds = new Map<string, number>();
  for (const h of config.holds) {
    const until = Math.floor(Date.parse(h.until) / 1000);
    if (until * 1000 > now) holds.set(h.tenant, Math.max(holds.get(h.tenant) ?? 0, until));
  }
  const sql = `toUInt16(least(65535, greatest(
      if(has({rt:Array(String)}, tenant_id), arrayElement({rd:Array(UInt16)}, indexOf({rt:Array(String)}, tenant_id)), {rdefault:UInt16}),
      if(has({ht:Array(String)}, tenant_id) AND arrayElement({hu:Array(Int64)}, indexOf({ht:Array(String)}, tenant_id)) > ${occurredSeconds},
         intDiv(arrayElement({hu:Array(Int64)}, indexOf({ht:Array(String)}, tenant_id)) - ${occurredSeconds}, 86400) + 1, 0))))`;
  const params = {
    rt: Object.keys(config.tenants),
    rd: Object.values(config.tenants),
    rdefault: config.defaultDays,
    ht: [...holds.keys()],
    hu: [...holds.values()],
  };
  return { sql, params };
}

export interface RetentionApplied {
  rows_updated: number;
  leaves_updated: number;
}

/** Sets every stored row's retention_days (and its leaf's expires_at) to the policy's; returns what changed. */
export async function applyRetention(client: ClickHouseClient, database: string, config: RetentionConfig, now = Date.now()): Promise<RetentionApplied> {
  const events = targetDays(config, 'toInt64(toUnixTimestamp(occurred_at))', now);
  const leaves = targetDays(config, 'toInt64(toUnixTimestamp(occurred_at))', now);
  const leafExpiry = `toDateTime(least(4294967295, toInt64(toUnixTimestamp(occurred_at)) + 86400 * ${leaves.sql}), 'UTC')`;
  const count = async (query: string, params: Record<string, unknown>) => {
    const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]?.n ?? 0);
  };
  const rowsUpdated = await count(`SELECT count() AS n FROM ${database}.events WHERE retention_days != ${events.sql}`, events.params);
  if (rowsUpdated > 0) {
    await client.command({
      query: `ALTER TABLE ${database}.events UPDATE retention_days = ${events.sql} WHERE retention_days != ${events.sql}`,
      query_params: events.params,
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  const leavesUpdated = await count(`SELECT count() AS n FROM ${database}.event_leaves WHERE expires_at != ${leafExpiry}`, leaves.params);
  if (leavesUpdated > 0) {
    await client.command({
      query: `ALTER TABLE ${database}.event_leaves UPDATE expires_at = ${leafExpiry} WHERE expires_at != ${leafExpiry}`,
      query_params: leaves.params,
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  return { rows_updated: rowsUpdated, leaves_updated: leavesUpdated };
}

/** At start: the policy in config applied to stored rows, logged when it changed any. */
export async function applyRetentionAtStart(client: ClickHouseClient, database: string, config: RetentionConfig, log: { info: (m: string, f?: Record<string, unknown>) => void; warn: (m: string, f?: Record<string, unknown>) => void }): Promise<void> {
  try {
    const applied = await applyRetention(client, database, config);
    if (applied.rows_updated > 0 || applied.leaves_updated > 0) log.info('retention: the policy in config applied to stored rows', { ...applied });
  } catch (error) {
    log.warn('retention: could not apply the policy to stored rows (audit-sidecar retention apply retries)', { error: (error as Error).message });
  }
}
