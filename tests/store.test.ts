/**
 * The store against the real embedded ClickHouse: schema vs. contract, migrations, TTL,
 * restart and ingest_seq, and a failing store turning into 503 with nothing stored.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_COLUMNS } from '../schemas/audit-event.js';
import { INSERT_COLUMNS } from '../collector/store/row-encoding.js';
import { migrate, renderMigration } from '../collector/store/migrations.js';
import { silentLogger } from '../collector/log.js';
import type { Sidecar } from '../collector/sidecar.js';
import { countRows, queryRows, startTestSidecar, tempDir } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { waitFor } from './support/otlp-receiver.js';

const dataDir = tempDir();
let sidecar: Sidecar | undefined;

afterAll(async () => {
  await sidecar?.stop();
});

async function send(s: Sidecar, records: Parameters<typeof otlpRequest>[0], resource?: Parameters<typeof otlpRequest>[1]) {
  return fetch(`${s.ingestUrl}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeProtobuf(otlpRequest(records, resource)),
  });
}

describe('schema', () => {
  it('matches the contract column for column, and the insert covers every column', async () => {
    sidecar = await startTestSidecar({ dataDir, retention: { default_days: 90, tenants: { shortlived: 1 } } });
    const described = await queryRows<{ name: string; type: string }>(sidecar, 'DESCRIBE TABLE audit.events');
    expect(described.map((c) => [c.name, c.type])).toEqual(AUDIT_EVENT_COLUMNS.map((c) => [c.name, c.type]));
    expect([...INSERT_COLUMNS].sort()).toEqual(AUDIT_EVENT_COLUMNS.map((c) => c.name).sort());
    const [ttl] = await queryRows<{ q: string }>(sidecar, "SELECT create_table_query AS q FROM system.tables WHERE database = 'audit' AND name = 'events'");
    expect(ttl!.q).toContain('TTL toDateTime(occurred_at) + toIntervalDay(retention_days)');
  });

  it('applies migrations once; running them again changes nothing', async () => {
    const applied = await migrate(sidecar!.store.readClient, sidecar!.store.config, silentLogger);
    expect(applied).toEqual([]);
    const rows = await queryRows<{ name: string }>(sidecar!, 'SELECT name FROM audit.schema_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(['0001_events', '0002_export', '0003_merge_selector', '0004_integrity']);
    const [table] = await queryRows<{ create_table_query: string }>(sidecar!, "SELECT create_table_query FROM system.tables WHERE database = 'audit' AND name = 'events'");
    expect(table!.create_table_query).toContain('merge_selector_base = 10');
  });

  it('renders ON CLUSTER and replicated engines for a cluster', () => {
    const sql = renderMigration('CREATE TABLE {{database}}.t {{on_cluster}} (a UInt8) ENGINE = {{replacing_merge_tree}}', { database: 'audit', cluster: 'prod' });
    expect(sql).toBe('CREATE TABLE audit.t ON CLUSTER prod (a UInt8) ENGINE = ReplicatedReplacingMergeTree');
  });
});

describe('TTL retention', () => {
  it('removes rows once they are past their tenant\'s retention', async () => {
    const s = sidecar!;
    // Occurred 1 day minus 5 s ago: inside the 1-day retention now, outside it in 5 s.
    const almostExpired = `${BigInt(Date.now() - 86_400_000 + 5_000) * 1_000_000n}`;
    const response = await send(s, [
      { eventName: 'ttl.short', timeUnixNano: almostExpired, attributes: { 'user.id': 'u', 'audit.tenant.id': 'shortlived' } },
      { eventName: 'ttl.long', timeUnixNano: almostExpired, attributes: { 'user.id': 'u', 'audit.tenant.id': 'other' } },
    ]);
    expect(response.status).toBe(200);
    expect(await countRows(s, "event_type LIKE 'ttl.%'")).toBe(2);
    const [row] = await queryRows<{ retention_days: number }>(s, "SELECT retention_days FROM audit.events WHERE event_type = 'ttl.short'");
    expect(row!.retention_days).toBe(1);
    await new Promise((r) => setTimeout(r, 6_000));
    await s.store.readClient.command({ query: 'OPTIMIZE TABLE audit.events FINAL' });
    expect(await countRows(s, "event_type = 'ttl.short'")).toBe(0);
    expect(await countRows(s, "event_type = 'ttl.long'")).toBe(1);
  });
});

describe('a failing store', () => {
  it('acknowledges into the ingest log while inserts fail, says the store is degraded, and loads once it is back', async () => {
    const s = sidecar!;
    const client = s.store.readClient;
    await client.command({ query: 'DETACH TABLE audit.events' });
    try {
      const response = await send(s, [{ eventName: 'fail.during' }]);
      expect(response.status).toBe(200);
      await waitFor(() => s.store.loader.status.state === 'retrying', 10_000, 'the loader to fail');
      expect(s.store.health()).toMatchObject({ accepting: true, storeDegraded: true });
      expect(s.store.loader.status.last_error?.message).toMatch(/events/);
    } finally {
      await client.command({ query: 'ATTACH TABLE audit.events' });
    }
    expect(await countRows(s, "event_type = 'fail.during'")).toBe(1);
    expect(s.store.health()).toMatchObject({ accepting: true, storeDegraded: false });
    expect((await send(s, [{ eventName: 'fail.after' }])).status).toBe(200);
    expect(await countRows(s, "event_type = 'fail.after'")).toBe(1);
  });
});

describe('restart', () => {
  it('keeps every row and continues ingest_seq above the stored maximum', async () => {
    const before = await queryRows<{ n: string; max: string }>(sidecar!, "SELECT toString(count()) AS n, toString(max(ingest_seq)) AS max FROM audit.events WHERE collector_id = 'test'");
    await sidecar!.stop();
    sidecar = await startTestSidecar({ dataDir });
    expect((await send(sidecar, [{ eventName: 'restart.after' }, { eventName: 'restart.after', body: 'two' }])).status).toBe(200);
    const after = await queryRows<{ n: string; seqs: string[] }>(
      sidecar,
      "SELECT toString(count()) AS n, arraySort(groupArray(toString(ingest_seq))) AS seqs FROM audit.events WHERE event_type = 'restart.after'",
    );
    const [total] = await queryRows<{ n: string }>(sidecar, "SELECT toString(count()) AS n FROM audit.events WHERE event_type != 'restart.after'");
    expect(total!.n).toBe(before[0]!.n);
    // A clean stop records the last number used: no gap.
    expect(after[0]!.seqs.map(Number)).toEqual([Number(before[0]!.max) + 1, Number(before[0]!.max) + 2]);
  });
});
