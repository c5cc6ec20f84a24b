/**
 * Loads are hashed on a thread of their own. When that thread dies holding a load, the
 * load fails after its insert: the loader must not save its position past the rows it
 * inserted but could not seal; it retries on a new thread, and the store verifies clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { Verifier } from '../collector/integrity/verify.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar;
const dataDir = tempDir();

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir });
});
afterAll(async () => {
  await sidecar?.stop();
});

async function postJson(prefix: string, n: number): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, event_type: 'user.login', actor: { id: `a${i}` }, tenant_id: 'acme' }));
  const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(response.status).toBe(200);
}

describe('the hashing thread', () => {
  it('dies holding a load: the position stays before it, the retry seals it, verify is clean', async () => {
    const store = sidecar.store;
    const sealer = store.sealer!;
    await postJson('before', 50);
    expect(await store.readable(10_000)).toBe(true);
    const first = sealer.thread.thread;
    expect(first).toBeDefined();
    const before = store.loader.loadedSeq;
    const positionFile = join(store.log.directory, 'loader.position');
    expect(readFileSync(positionFile, 'utf8')).toBe(String(before));

    // The next load's hashing goes to a thread that is being ended: it never answers.
    const hash = sealer.thread.hash.bind(sealer.thread);
    let failure: { message: string; loaded: number; position: string } | undefined;
    let calls = 0;
    sealer.thread.hash = (load) => {
      if (calls++ === 0) void sealer.thread.thread!.terminate();
      const hashing = hash(load);
      hashing.catch((error: Error) => {
        failure ??= { message: error.message, loaded: store.loader.loadedSeq, position: readFileSync(positionFile, 'utf8') };
      });
      return hashing;
    };
    await postJson('during', 50);
    expect(await store.readable(10_000)).toBe(true);

    expect(failure?.message).toMatch(/hashing thread exited/);
    expect(failure?.loaded).toBe(before);
    expect(failure?.position).toBe(String(before));
    expect(calls).toBeGreaterThanOrEqual(2); // the retry
    expect(sealer.thread.thread).toBeDefined();
    expect(sealer.thread.thread).not.toBe(first);
    expect(store.loader.loadedSeq).toBe(before + 50);

    const [sealed] = await queryRows<{ rows: string }>(sidecar, 'SELECT toString(sum(count)) AS rows FROM audit.checkpoints');
    expect(Number(sealed!.rows)).toBe(100);
    const report = await new Verifier(store.readClient, 'audit', { publicKeys: sealer.publicKeys }).run();
    expect(report).toMatchObject({ ok: true, rows_checked: 100, rows_intact: 100, rows_injected: [], chain_breaks: [] });
  });
});
