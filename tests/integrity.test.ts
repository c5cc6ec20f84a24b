/**
 * Tamper evidence against the real embedded ClickHouse: the loader's leaves equal what the
 * engine computes from the stored rows, an untouched store verifies clean, and each kind of
 * tampering (through the engine, as someone with `sql --write` would) is reported with the
 * right ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { AUDIT_EVENT_COLUMNS } from '../schemas/audit-event.js';
import { leafSql } from '../collector/integrity/canonical.js';
import { Verifier, type VerifyReport } from '../collector/integrity/verify.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

let sidecar: Sidecar;
const dataDir = tempDir();

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir, retention: { default_days: 3650, tenants: { brief: 2 } } });
});
afterAll(async () => {
  await sidecar?.stop();
});

async function postJson(events: unknown[]): Promise<void> {
  const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(response.status).toBe(200);
}

async function postOtlp(n: number, prefix: string): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => ({
    eventName: 'doc.update',
    body: `update ${i} ü 🚀`,
    attributes: { 'user.id': `u-${i}`, 'log.record.uid': `${prefix}-${i}`, '10': 'integer-like key', 'z.custom': 'v', zz: i },
  }));
  const response = await fetch(`${sidecar.ingestUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeProtobuf(otlpRequest(records, { 'service.name': 'svc', 'tenant.id': 'acme' })) });
  expect(response.status).toBe(200);
}

async function verify(extra: Partial<ConstructorParameters<typeof Verifier>[2]> = {}): Promise<VerifyReport> {
  await sidecar.store.readable(10_000);
  const keys = sidecar.store.sealer!.publicKeys;
  return new Verifier(sidecar.store.readClient, 'audit', { publicKeys: keys, chunkRows: 500, ...extra }).run();
}

/** INSERT … SELECT of a stored row with some columns replaced (chDB ignores `SELECT * REPLACE` here). */
function copyRow(eventId: string, replace: Record<string, string>): string {
  const names = AUDIT_EVENT_COLUMNS.map((c) => c.name);
  return `INSERT INTO audit.events (${names.join(', ')}) SELECT ${names.map((n) => replace[n] ?? n).join(', ')} FROM audit.events WHERE event_id = '${eventId}'`;
}

async function write(sql: string): Promise<void> {
  await sidecar.store.readClient.command({ query: sql, clickhouse_settings: { mutations_sync: '2' } });
}

describe('checkpoints', () => {
  it('the loader hashes each row as the engine hashes the stored row', async () => {
    await postOtlp(300, 'a');
    await postJson(Array.from({ length: 200 }, (_, i) => ({ id: `j-${i}`, event_type: 'user.login', actor: { id: `a${i}`, email: 'x@example.com' }, tenant_id: i % 2 ? 'acme' : 'globex', metadata: { i } })));
    await sidecar.store.readable(10_000);
    const rows = await queryRows<{ same: number; n: string }>(
      sidecar,
      `SELECT sum(l.leaf = ${leafSql('e', 'e.retention_days')}) AS same, count() AS n
       FROM audit.events AS e INNER JOIN audit.event_leaves AS l ON e.collector_id = l.collector_id AND e.ingest_seq = l.ingest_seq`,
    );
    expect(Number(rows[0]!.n)).toBe(500);
    expect(Number(rows[0]!.same)).toBe(500);
    const checkpoints = await queryRows<{ n: string; rows: string }>(sidecar, 'SELECT count() AS n, sum(count) AS rows FROM audit.checkpoints');
    expect(Number(checkpoints[0]!.rows)).toBe(500);
  });

  it('an untouched store verifies clean', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, rows_checked: 500, rows_intact: 500, rows_altered: [], rows_missing: [], rows_injected: [], chain_breaks: [], signatures_invalid: [] });
  });
});

describe('tampering is reported', () => {
  it('an altered column of one row', async () => {
    await write("ALTER TABLE audit.events UPDATE actor_id = 'mallory' WHERE event_id = 'j-7'");
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.rows_altered).toEqual(['j-7']);
    expect(report.rows_intact).toBe(499);
  });

  it('a deleted row', async () => {
    await write("ALTER TABLE audit.events DELETE WHERE event_id = 'a-5'");
    const report = await verify();
    expect(report.rows_missing).toEqual(['a-5']);
    expect(report.rows_altered).toEqual(['j-7']);
  });

  it('an inserted row', async () => {
    await write(copyRow('j-8', { event_id: "'forged'", ingest_seq: 'ingest_seq + 1000000' }));
    await write(copyRow('j-9', { event_id: "'forged-inside'" }));
    const report = await verify();
    expect(report.rows_injected.sort()).toEqual(['forged', 'forged-inside']);
  });

  it('an edited checkpoint root and a deleted checkpoint', async () => {
    await postJson([{ id: 'late-1', event_type: 'user.logout', actor: { id: 'a' } }]);
    await sidecar.store.readable(10_000);
    const [first, second] = await queryRows<{ to_seq: string }>(sidecar, 'SELECT to_seq FROM audit.checkpoints ORDER BY to_seq LIMIT 2');
    await write(`ALTER TABLE audit.checkpoints UPDATE merkle_root = '${'ab'.repeat(32)}' WHERE to_seq = ${first!.to_seq}`);
    let report = await verify();
    expect(report.signatures_invalid.map((s) => s.to_seq)).toEqual([Number(first!.to_seq)]);
    expect(report.chain_breaks.length).toBeGreaterThan(0);
    await write(`ALTER TABLE audit.checkpoints DELETE WHERE to_seq = ${second!.to_seq}`);
    report = await verify();
    expect(report.chain_breaks.some((b) => /prev_hash/.test(b.problem))).toBe(true);
    expect(report.chain_breaks.some((b) => /no checkpoint covers/.test(b.problem))).toBe(true);
    expect(report.ok).toBe(false);
    // The newest checkpoint deleted: its leaves and rows are left unsealed.
    await write('ALTER TABLE audit.checkpoints DELETE WHERE to_seq = (SELECT max(to_seq) FROM audit.checkpoints)');
    report = await verify();
    expect(report.chain_breaks.some((b) => /after the last checkpoint/.test(b.problem))).toBe(true);
    expect(report.rows_injected).toContain('late-1');
  });
});
