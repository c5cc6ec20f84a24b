/**
 * Export jobs: the file equals the synchronous export of the same filters, limits on age
 * and window, tenant isolation, a restart while a job runs, and expiry after `keep`.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir, type TestConfigOptions, ingestCanonical } from './support/sidecar.js';

const READER = 'reader-token-00000000000000';
const ACME = 'acme-reader-token-000000000';
const GLOBEX = 'globex-reader-token-0000000';
const INGEST = 'ingest-token-000000000000000';
const DAY = 86_400_000;
const base = Date.now() - 10 * DAY;

const dataDir = tempDir();
const options = (api: Record<string, unknown> = {}): TestConfigOptions => ({
  dataDir,
  batch: { timeout: '10ms' },
  api: { exports: { page_rows: 25, ...api } },
  tokens: [
    { token: READER, scopes: ['read'], name: 'ci reader' },
    { token: ACME, tenant: 'acme', scopes: ['read'] },
    { token: GLOBEX, tenant: 'globex', scopes: ['read'] },
    { token: INGEST, scopes: ['ingest'] },
  ],
});
let sidecar: Sidecar;

type Job = { id: string; status: string; rows: number; bytes: number; error: string | null; created_by: string; from: string; to: string };

const call = (path: string, token = READER, init: RequestInit = {}) =>
  fetch(`${sidecar.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
const create = (body: Record<string, unknown>, token = READER) => call('/api/v1/exports', token, { method: 'POST', body: JSON.stringify(body) });

async function finished(id: string, token = READER, timeoutMs = 30_000): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await call(`/api/v1/exports/${id}`, token)).json()) as Job;
    if (job.status === 'completed' || job.status === 'failed' || Date.now() > until) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ingest(records: Array<Record<string, unknown>>) {
  await ingestCanonical(sidecar, INGEST, records);
}

beforeAll(async () => {
  sidecar = await startTestSidecar(options());
  await ingest(
    Array.from({ length: 1500 }, (_, i) => ({
      id: `job-${i}`,
      tenant_id: ['acme', 'globex'][i % 2],
      occurred_at: new Date(base + i * 60_000).toISOString(),
      event_type: i % 3 ? 'user.login' : 'monitor.delete',
      outcome: i % 5 ? 'success' : 'failure',
      actor: { id: `u${i % 4}`, email: `user${i % 4}@example.com` },
      message: i === 7 ? 'quoted, "text"\nwith a newline' : `event ${i}`,
    })),
  );
});
afterAll(async () => {
  await sidecar?.stop();
});

describe('export jobs', () => {
  it.each(['csv', 'json', 'ndjson'])('writes the same %s as the synchronous export of the same filters', async (format) => {
    const from = new Date(base + 100 * 60_000).toISOString();
    const to = new Date(base + 900 * 60_000).toISOString();
    const response = await create({ name: `logins ${format}`, format, event_type: 'user.login', from, to });
    expect(response.status).toBe(202);
    const created = (await response.json()) as Job;
    expect(created).toMatchObject({ status: 'queued', created_by: 'ci reader' });
    const job = await finished(created.id);
    expect(job.status).toBe('completed');
    const download = await call(`/api/v1/exports/${job.id}/download`);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="logins_${format}.${format}"`);
    const file = await download.text();
    const sync = await (await call(`/api/v1/events/export?format=${format}&event_type=user.login&from=${from}&to=${to}`)).text();
    expect(file).toBe(sync);
    expect(job.bytes).toBe(Buffer.byteLength(file));
    expect(job.rows).toBe(534); // user.login (i % 3 > 0) among minutes 100..899
  });

  it('lists the history newest first', async () => {
    const list = ((await (await call('/api/v1/exports')).json()) as { exports: Job[] }).exports;
    expect(list.map((j) => (j as unknown as { name: string }).name).slice(0, 3)).toEqual(['logins ndjson', 'logins json', 'logins csv']);
  });

  it('refuses a range older than max_age or wider than max_window, saying which', async () => {
    const old = await create({ format: 'csv', from: new Date(Date.now() - 400 * DAY).toISOString(), to: new Date(Date.now() - 390 * DAY).toISOString() });
    expect(old.status).toBe(400);
    expect(((await old.json()) as { error: string }).error).toContain('max_age');
    const wide = await create({ format: 'csv', from: new Date(Date.now() - 100 * DAY).toISOString() });
    expect(wide.status).toBe(400);
    expect(((await wide.json()) as { error: string }).error).toContain('at most 92 days (max_window)');
    expect((await create({ format: 'xml' })).status).toBe(400);
    // Without from, the last max_window is exported.
    const recent = (await (await create({ format: 'ndjson' })).json()) as Job;
    expect(Date.parse(recent.to) - Date.parse(recent.from)).toBe(92 * DAY);
  });

  it('keeps a tenant-bound token to its own tenant\'s jobs and rows', async () => {
    const acmeJob = (await (await create({ name: 'acme only', format: 'ndjson', tenant_id: 'globex' }, ACME)).json()) as Job;
    const done = await finished(acmeJob.id, ACME);
    expect(done.status).toBe('completed');
    const rows = (await (await call(`/api/v1/exports/${acmeJob.id}/download`, ACME)).text()).trim();
    expect(rows).toBe(''); // asking for globex narrows to nothing
    const own = (await (await create({ format: 'ndjson' }, ACME)).json()) as Job;
    await finished(own.id, ACME);
    const lines = (await (await call(`/api/v1/exports/${own.id}/download`, ACME)).text()).trim().split('\n');
    expect(lines).toHaveLength(750);
    expect(lines.every((line) => (JSON.parse(line) as { tenant_id: string }).tenant_id === 'acme')).toBe(true);

    const globexList = ((await (await call('/api/v1/exports', GLOBEX)).json()) as { exports: Job[] }).exports;
    expect(globexList.map((j) => j.id)).not.toContain(own.id);
    expect((await call(`/api/v1/exports/${own.id}`, GLOBEX)).status).toBe(404);
    expect((await call(`/api/v1/exports/${own.id}/download`, GLOBEX)).status).toBe(404);
    expect((await call(`/api/v1/exports/${own.id}`, GLOBEX, { method: 'DELETE' })).status).toBe(404);
    const unbound = ((await (await call('/api/v1/exports')).json()) as { exports: Job[] }).exports;
    expect(unbound.map((j) => j.id)).toContain(own.id);
    expect((await call(`/api/v1/exports/${own.id}`, ACME, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/api/v1/exports/${own.id}`, ACME)).status).toBe(404);
    expect(readdirSync(join(dataDir, 'exports')).some((f) => f.startsWith(own.id))).toBe(false);
  });

  it('runs a job interrupted by a restart again to completion, with the same file', { timeout: 60_000 }, async () => {
    await sidecar.stop();
    sidecar = await startTestSidecar(options({ page_rows: 5 }));
    const job = (await (await create({ name: 'interrupted', format: 'csv' })).json()) as Job;
    for (let state = ''; state !== 'running'; ) {
      const current = (await (await call(`/api/v1/exports/${job.id}`)).json()) as Job;
      state = current.rows > 0 ? current.status : '';
      expect(current.status).not.toBe('completed');
      await new Promise((r) => setTimeout(r, 10));
    }
    await sidecar.stop();
    sidecar = await startTestSidecar(options());
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'completed', error: null });
    const sync = await (await call(`/api/v1/events/export?format=csv&from=${done.from}&to=${done.to}`)).text();
    expect(await (await call(`/api/v1/exports/${job.id}/download`)).text()).toBe(sync);
    expect(existsSync(join(dataDir, 'exports', `${job.id}.csv.part`))).toBe(false);

    // A job that restarts kept interrupting is not started again: it fails with the reason.
    await sidecar.stop();
    const stuck = { ...done, id: `exp_${'ab'.repeat(16)}`, name: 'stuck', status: 'running', finished_at: null, attempts: 3, tenant: null, filters: { from: done.from, to: done.to } };
    writeFileSync(join(dataDir, 'exports', `${stuck.id}.job.json`), JSON.stringify(stuck));
    sidecar = await startTestSidecar(options());
    expect(await finished(stuck.id)).toMatchObject({ status: 'failed', error: 'interrupted by 3 restarts; not started again' });
  });

  it('removes finished jobs and their files after keep', async () => {
    await sidecar.stop();
    sidecar = await startTestSidecar(options({ keep: '1ms' }));
    expect(((await (await call('/api/v1/exports')).json()) as { exports: Job[] }).exports).toEqual([]);
    expect(readdirSync(join(dataDir, 'exports'))).toEqual([]);
  });
});
