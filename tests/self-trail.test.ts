/**
 * The trail's own trail: a read, an export and a SQL query each leave one event of the
 * sidecar itself (source self) with the caller's identity, covered by the checkpoints, and
 * left out of lists unless asked for with source=self. /healthz and /metrics leave none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

const ADMIN = 'admin-token-0000000000000';
const READER = 'acme-reader-token-000000';
let sidecar: Sidecar;

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    api: { record_access: true },
    tokens: [
      { name: 'ops-admin', token: ADMIN, scopes: ['read', 'admin', 'ingest'] },
      { name: 'acme-reader', token: READER, tenant: 'acme', scopes: ['read'] },
    ],
  });
  const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify([{ id: 'a-1', event_type: 'doc.read', tenant_id: 'acme', actor: { id: 'u' } }]),
  });
  expect(response.status).toBe(200);
});
afterAll(async () => {
  await sidecar?.stop();
});

const call = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${sidecar.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });

type SelfRow = { event_type: string; tenant_id: string; actor_id: string; action: string; metadata: string; request_url: string };
const selfEvents = () => queryRows<SelfRow>(sidecar, "SELECT event_type, tenant_id, actor_id, action, metadata, request_url FROM audit.events WHERE source = 'self' ORDER BY ingest_seq");

describe('self events', () => {
  it('a read, an export and a SQL query each leave one event with the caller\'s identity', async () => {
    expect((await call('/api/v1/events?event_type=doc.read', READER)).status).toBe(200);
    const exported = await call('/api/v1/events/export?format=ndjson', READER);
    expect(exported.status).toBe(200);
    await exported.text();
    expect((await call('/api/v1/query', ADMIN, { method: 'POST', body: JSON.stringify({ sql: 'SELECT count() FROM audit.events' }) })).status).toBe(200);
    expect((await fetch(`${sidecar.apiUrl}/healthz`)).status).toBe(200);
    expect((await call('/metrics', ADMIN)).status).toBe(200);
    const rows = await selfEvents();
    expect(rows.map((r) => [r.event_type, r.tenant_id, r.actor_id])).toEqual([
      ['audit_sidecar.events.read', 'acme', 'acme-reader'],
      ['audit_sidecar.events.read', 'acme', 'acme-reader'],
      ['audit_sidecar.query.query', 'default', 'ops-admin'],
    ]);
    expect(JSON.parse(rows[0]!.metadata).filters).toEqual({ event_type: 'doc.read' });
    expect(rows[1]!.request_url).toBe('/api/v1/events/export?format=ndjson');
    expect(JSON.parse(rows[2]!.metadata).sql).toBe('SELECT count() FROM audit.events');
    for (const row of rows) expect(`${row.metadata}${row.request_url}`).not.toContain('token-0000');
  });

  it('lists leave them out unless asked for with source=self', async () => {
    const list = (await (await call('/api/v1/events', READER)).json()) as { events: Array<{ event_id: string }> };
    expect(list.events.map((e) => e.event_id)).toEqual(['a-1']);
    const own = (await (await call('/api/v1/events?source=self', READER)).json()) as { events: Array<{ source: string }> };
    expect(own.events.length).toBeGreaterThanOrEqual(3);
    expect(own.events.every((e) => e.source === 'self')).toBe(true);
  });

  it('are covered by the checkpoints', async () => {
    const report = (await (await call('/api/v1/integrity/verify', ADMIN)).json()) as { ok: boolean; rows_intact: number };
    expect(report.ok).toBe(true);
    expect(report.rows_intact).toBeGreaterThanOrEqual(6);
  });
});
