/**
 * Integrity through the API and the CLI: public keys, verify (admin), per-event proofs
 * checked offline with the public key alone, key rotation across a restart, and retention
 * changes and legal holds applied to stored rows (expired rows are reported as expired).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { projectRoot } from '../collector/paths.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { KeyRing } from '../collector/integrity/keys.js';
import { verifyProof, type EventProof } from '../collector/integrity/proof.js';
import { parsePublicKeys } from '../collector/integrity/keys.js';
import { queryRows, startTestSidecar, tempDir, type TestConfigOptions } from './support/sidecar.js';
import { runCli } from './support/process.js';

const ADMIN = 'admin-token-0000000000000';
const READER = 'acme-reader-token-000000';
const dataDir = tempDir();
let sidecar: Sidecar;

const options = (extra: Partial<TestConfigOptions> = {}): TestConfigOptions => ({
  dataDir,
  api: {},
  tokens: [
    { name: 'ops-admin', token: ADMIN, scopes: ['read', 'admin', 'ingest'] },
    { name: 'acme-reader', token: READER, tenant: 'acme', scopes: ['read'] },
  ],
  retention: { default_days: 3650 },
  ...extra,
});

beforeAll(async () => {
  sidecar = await startTestSidecar(options());
});
afterAll(async () => {
  await sidecar?.stop();
});

const DAY_MS = 86_400_000;

async function ingest(events: Array<Record<string, unknown>>): Promise<void> {
  const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(200);
}

async function api<T = Record<string, unknown>>(path: string, token = ADMIN): Promise<{ status: number; body: T }> {
  const response = await fetch(`${sidecar.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

describe('keys, verify and proofs', () => {
  it('serves the public keys and verifies clean', async () => {
    await ingest(Array.from({ length: 50 }, (_, i) => ({ id: `e-${i}`, event_type: 'doc.read', tenant_id: i % 2 ? 'acme' : 'globex', actor: { id: `u${i}` }, metadata: { n: i } })));
    const keys = await api<{ keys: Array<{ key_id: string; public_key: string; active: boolean }> }>('/api/v1/integrity/keys', READER);
    expect(keys.status).toBe(200);
    expect(keys.body.keys).toHaveLength(1);
    expect(keys.body.keys[0]!.public_key).toContain('BEGIN PUBLIC KEY');
    const report = await api<{ ok: boolean; rows_intact: number }>('/api/v1/integrity/verify');
    expect(report.body.ok).toBe(true);
    expect(report.body.rows_intact).toBeGreaterThanOrEqual(50);
    expect((await api('/api/v1/integrity/verify', READER)).status).toBe(403);
  });

  it('a proof checks out offline with the public key alone, and fails for a modified row', async () => {
    const { body: proof, status } = await api<EventProof>('/api/v1/events/e-3/proof', READER);
    expect(status).toBe(200);
    expect(proof.row.event_id).toBe('e-3');
    expect((await api('/api/v1/events/e-2/proof', READER)).status).toBe(404); // globex: not this token's tenant
    const { body: keys } = await api<{ keys: Array<{ public_key: string }> }>('/api/v1/integrity/keys');
    const trusted = new Map(parsePublicKeys(keys.keys[0]!.public_key).map((k) => [k.keyId, k.key]));
    expect(verifyProof(proof, trusted)).toEqual({ ok: true, problems: [] });
    const keyFile = join(dataDir, 'trusted.pem');
    const proofFile = join(dataDir, 'proof.json');
    writeFileSync(keyFile, keys.keys[0]!.public_key);
    writeFileSync(proofFile, JSON.stringify(proof));
    const good = runCli(['verify-proof', proofFile, '--public-key', keyFile]);
    expect(good.stdout).toContain('proof OK');
    expect(good.status).toBe(0);
    // The README's third-party script, run as written.
    const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
    const script = join(dataDir, 'verify-proof.mjs');
    writeFileSync(script, /```js\n(\/\/ verify-proof\.mjs[\s\S]*?)```/.exec(readme)![1]!);
    const third = spawnSync(process.execPath, [script, proofFile, keyFile], { encoding: 'utf8' });
    expect(third.stdout.trim(), third.stderr).toBe('proof OK');
    const forged = { ...proof, row: { ...proof.row, actor_id: 'someone-else' } };
    writeFileSync(proofFile, JSON.stringify(forged));
    const bad = runCli(['verify-proof', proofFile, '--public-key', keyFile]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('the row was modified');
    expect(verifyProof(forged, trusted).ok).toBe(false);
    expect(spawnSync(process.execPath, [script, proofFile, keyFile]).status).toBe(1);
  });
});

describe('key rotation', () => {
  it('checkpoints signed before a rotation still verify', async () => {
    await sidecar.stop();
    const newKey = await KeyRing.rotate(join(dataDir, 'integrity'));
    sidecar = await startTestSidecar(options());
    await ingest([{ id: 'after-rotation', event_type: 'doc.read', tenant_id: 'acme', actor: { id: 'u' } }]);
    const keys = await api<{ keys: Array<{ key_id: string; active: boolean }> }>('/api/v1/integrity/keys');
    expect(keys.body.keys).toHaveLength(2);
    expect(keys.body.keys.find((k) => k.active)!.key_id).toBe(newKey);
    const used = await queryRows<{ key_id: string }>(sidecar, 'SELECT DISTINCT key_id FROM audit.checkpoints');
    expect(used).toHaveLength(2);
    const report = await api<{ ok: boolean; checkpoints_checked: number }>('/api/v1/integrity/verify');
    expect(report.body).toMatchObject({ ok: true });
  });
});

describe('retention under control', () => {
  it('a shorter retention applies to stored rows, a legal hold keeps its tenant, the hold\'s end lets them expire', async () => {
    const old = new Date(Date.now() - 20 * DAY_MS).toISOString();
    await ingest([
      ...Array.from({ length: 5 }, (_, i) => ({ id: `old-acme-${i}`, event_type: 'x.y', tenant_id: 'acme', actor: { id: 'u' }, occurred_at: old })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `old-held-${i}`, event_type: 'x.y', tenant_id: 'held', actor: { id: 'u' }, occurred_at: old })),
      { id: 'new-acme', event_type: 'x.y', tenant_id: 'acme', actor: { id: 'u' } },
    ]);
    await sidecar.stop();
    const hold = { tenant: 'held', reason: 'litigation 2024-17', until: new Date(Date.now() + 30 * DAY_MS).toISOString().slice(0, 10) };
    sidecar = await startTestSidecar(options({ retention: { default_days: 10, holds: [hold] } }));
    const policy = await api<{ default_days: number; holds: Array<{ active: boolean }> }>('/api/v1/retention', READER);
    expect(policy.body.default_days).toBe(10);
    expect(policy.body.holds[0]!.active).toBe(true);
    await sidecar.store.readClient.command({ query: 'OPTIMIZE TABLE audit.events FINAL' });
    const left = await queryRows<{ event_id: string }>(sidecar, "SELECT event_id FROM audit.events WHERE event_id LIKE 'old-%' ORDER BY event_id");
    expect(left.map((r) => r.event_id)).toEqual(Array.from({ length: 5 }, (_, i) => `old-held-${i}`));
    expect((await queryRows(sidecar, "SELECT 1 FROM audit.events WHERE event_id = 'new-acme'"))).toHaveLength(1);
    const report = await api<{ ok: boolean; rows_expired: number; rows_missing: string[] }>('/api/v1/integrity/verify');
    expect(report.body).toMatchObject({ ok: true, rows_expired: 5, rows_missing: [] });

    // The hold lifted: `retention apply` (the CLI, on the stopped sidecar's data directory) lets them go.
    await sidecar.stop();
    const config = join(dataDir, 'config.yaml');
    writeFileSync(config, `exporters:\n  clickhouse: { endpoint: "embedded://${dataDir}", retention: { default_days: 10 } }\nservice:\n  pipelines: { logs/audit: { receivers: [otlp], exporters: [clickhouse] } }\nreceivers:\n  otlp: {}\n`);
    const applied = runCli(['retention', 'apply', '--config', config]);
    expect(applied.status).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ rows_updated: 5 });
    const verified = runCli(['verify', '--config', config]);
    expect(verified.status).toBe(0);
    sidecar = await startTestSidecar(options({ retention: { default_days: 10 } }));
    await sidecar.store.readClient.command({ query: 'OPTIMIZE TABLE audit.events FINAL' });
    expect(await queryRows(sidecar, "SELECT 1 FROM audit.events WHERE event_id LIKE 'old-%'")).toHaveLength(0);
    const after = await api<{ ok: boolean; rows_expired: number }>('/api/v1/integrity/verify');
    expect(after.body).toMatchObject({ ok: true, rows_expired: 10 });
  });
});
