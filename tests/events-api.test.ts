/**
 * The read side against a seeded store: every filter, exact keyset paging while events
 * arrive, tenant isolation under hostile input, exports, the live tail, SQL, readiness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir, ingestCanonical } from './support/sidecar.js';

const READER = 'reader-token-00000000000000';
const ACME = 'acme-reader-token-000000000';
const ADMIN = 'admin-token-0000000000000000';
const ACME_ADMIN = 'acme-admin-token-00000000000';
const INGEST = 'ingest-token-000000000000000';

let sidecar: Sidecar;
type Event = Record<string, unknown> & { event_id: string; tenant_id: string; occurred_at: string };

const DAY = 86_400_000;
const base = Date.now() - 10 * DAY;
const seed: Array<Record<string, unknown>> = [];
for (let i = 0; i < 60; i++) {
  seed.push({
    id: `seed-${String(i).padStart(3, '0')}`,
    tenant_id: ['acme', 'globex', 'initech'][i % 3],
    occurred_at: new Date(base + i * 3_600_000).toISOString(),
    event_type: ['user.login', 'monitor.delete', 'project.update'][i % 4 === 0 ? 0 : (i % 2) + 1],
    outcome: i % 5 === 0 ? 'failure' : 'success',
    actor: { id: `u${i % 4}`, email: `user${i % 4}@example.com`, name: `User ${i % 4}` },
    resource: { type: i % 2 ? 'monitor' : 'project', id: `r${i % 6}` },
    project_id: `p${i % 3}`,
    message: i === 7 ? 'needle, with "quotes"\nand a newline' : `event number ${i}`,
    metadata: { plan: i % 2 ? 'pro' : 'free' },
  });
}

function get(path: string, token = READER, headers: Record<string, string> = {}) {
  return fetch(`${sidecar.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

async function events(query: string, token = READER): Promise<Event[]> {
  const response = await get(`/api/v1/events?${query}`, token);
  expect(response.status, query).toBe(200);
  return ((await response.json()) as { events: Event[] }).events;
}

async function ingest(records: Array<Record<string, unknown>>) {
  await ingestCanonical(sidecar, INGEST, records);
}

const expected = (predicate: (e: Record<string, unknown>) => boolean) =>
  seed.filter(predicate).map((e) => e.id as string).sort();
const ids = (list: Event[]) => list.map((e) => e.event_id).sort();

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    batch: { timeout: '10ms' },
    api: {},
    tokens: [
      { token: READER, scopes: ['read'] },
      { token: ACME, tenant: 'acme', scopes: ['read'] },
      { token: ADMIN, scopes: ['admin', 'read'] },
      { token: ACME_ADMIN, tenant: 'acme', scopes: ['admin', 'read'] },
      { token: INGEST, scopes: ['ingest'] },
    ],
  });
  await ingest(seed);
});
afterAll(async () => {
  await sidecar?.stop();
});

describe('GET /api/v1/events', () => {
  it('lists newest first with the contract column names', async () => {
    const list = await events('limit=1000');
    expect(list).toHaveLength(60);
    expect(list[0]!.event_id).toBe('seed-059');
    expect(list[0]).toMatchObject({ tenant_id: 'initech', actor_email: 'user3@example.com', metadata: { plan: 'pro' }, source: 'json:canonical' });
    expect(list[0]!.occurred_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
  });

  it.each([
    ['event_type=monitor.delete', (e: Record<string, unknown>) => e.event_type === 'monitor.delete'],
    ['actor=u1', (e: Record<string, unknown>) => (e.actor as { id: string }).id === 'u1'],
    ['actor=user2@example.com', (e: Record<string, unknown>) => (e.actor as { id: string }).id === 'u2'],
    ['resource_type=monitor', (e: Record<string, unknown>) => (e.resource as { type: string }).type === 'monitor'],
    ['resource_id=r5', (e: Record<string, unknown>) => (e.resource as { id: string }).id === 'r5'],
    ['project_id=p2', (e: Record<string, unknown>) => e.project_id === 'p2'],
    ['outcome=failure', (e: Record<string, unknown>) => e.outcome === 'failure'],
    ['tenant_id=globex', (e: Record<string, unknown>) => e.tenant_id === 'globex'],
    ['q=NEEDLE', (e: Record<string, unknown>) => e.id === 'seed-007'],
    ['q=pro', (e: Record<string, unknown>) => (e.metadata as { plan: string }).plan === 'pro'],
    ['q=USER3', (e: Record<string, unknown>) => (e.actor as { id: string }).id === 'u3'],
    [`from=${new Date(base + 50 * 3_600_000).toISOString()}`, (e: Record<string, unknown>) => Date.parse(e.occurred_at as string) >= base + 50 * 3_600_000],
    [`to=${base + 5 * 3_600_000}`, (e: Record<string, unknown>) => Date.parse(e.occurred_at as string) < base + 5 * 3_600_000],
    ['event_type=project.update&outcome=success&tenant_id=initech&resource_type=monitor', (e: Record<string, unknown>) =>
      e.event_type === 'project.update' && e.outcome === 'success' && e.tenant_id === 'initech' && (e.resource as { type: string }).type === 'monitor'],
  ])('filters by %s', async (query, predicate) => {
    expect(ids(await events(`${query}&limit=1000`))).toEqual(expected(predicate));
  });

  it('confines a tenant-bound token to its tenant, whatever it asks', async () => {
    expect(ids(await events('limit=1000', ACME))).toEqual(expected((e) => e.tenant_id === 'acme'));
    expect(await events('tenant_id=globex&limit=1000', ACME)).toEqual([]);
    expect((await get('/api/v1/events/seed-001', ACME)).status).toBe(404); // globex's
    expect((await get('/api/v1/events/seed-000', ACME)).status).toBe(200);
  });

  it('never shows another tenant for hostile input in any parameter', async () => {
    const hostile = ["' OR 1=1 --", "\\'", '{t:String}', "acme' OR tenant_id != '", 'ünïcödé ✓ 𝄞', '%', '_', 'x'.repeat(1000), '\u0000', ')) OR ((1=1'];
    for (const value of hostile) {
      // outcome is an enum: anything else is a 400 (tests/api-errors.test.ts).
      for (const param of ['event_type', 'actor', 'resource_type', 'resource_id', 'project_id', 'q', 'tenant_id']) {
        const response = await get(`/api/v1/events?${param}=${encodeURIComponent(value)}&limit=1000`, ACME);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { events: Event[] };
        expect(body.events.every((e) => e.tenant_id === 'acme')).toBe(true);
      }
      expect([200, 404]).toContain((await get(`/api/v1/events/${encodeURIComponent(value)}`, ACME)).status);
    }
    expect((await get(`/api/v1/events?q=${'y'.repeat(2000)}`, ACME)).status).toBe(400);
  });

  it('shows a resent event once, on a page and across a page boundary', async () => {
    const copy = (n: number) => ({ id: `dup-page-${n}`, event_type: 'dup.page', occurred_at: new Date(base + n * 1000).toISOString(), actor: { id: 'u' }, tenant_id: 'acme' });
    for (let round = 0; round < 3; round++) await ingest([copy(1), copy(2), copy(3)]); // three separate inserts of the same events
    expect((await events('event_type=dup.page&limit=100')).map((e) => e.event_id)).toEqual(['dup-page-3', 'dup-page-2', 'dup-page-1']);
    const first = (await (await get('/api/v1/events?event_type=dup.page&limit=2')).json()) as { events: Event[]; next_cursor: string };
    const second = (await (await get(`/api/v1/events?event_type=dup.page&limit=2&cursor=${first.next_cursor}`)).json()) as { events: Event[] };
    expect([...first.events, ...second.events].map((e) => e.event_id)).toEqual(['dup-page-3', 'dup-page-2', 'dup-page-1']);
  });

  it('pages through every event exactly once while new events arrive', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let n = 0;
    do {
      const response = await get(`/api/v1/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await response.json()) as { events: Event[]; next_cursor: string | null };
      seen.push(...page.events.map((e) => e.event_id));
      cursor = page.next_cursor;
      // newer events arriving mid-way are not part of this walk
      await ingest([{ id: `late-${n++}`, event_type: 'late.event', actor: { id: 'u' }, tenant_id: 'acme' }]);
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id.startsWith('seed-')).sort()).toEqual(seed.map((e) => e.id).sort());
    expect(seen.some((id) => id.startsWith('late-'))).toBe(false);
    expect((await get('/api/v1/events?cursor=bogus')).status).toBe(400);
    expect((await get('/api/v1/events?limit=1001')).status).toBe(400);
  });
});

describe('exports', () => {
  it('streams CSV with a header row and RFC 4180 quoting, in UTC', async () => {
    const response = await get('/api/v1/events/export?format=csv&q=needle');
    expect(response.headers.get('content-type')).toContain('text/csv');
    const text = await response.text();
    const [header, ...rest] = text.split('\r\n');
    expect(header!.startsWith('event_id,tenant_id,occurred_at,received_at,event_type')).toBe(true);
    expect(rest.join('\r\n')).toContain('"needle, with ""quotes""\nand a newline"');
    expect(rest.join('\r\n')).toMatch(/seed-007,globex,\d{4}-\d{2}-\d{2}T[\d:.]+Z,/);
  });

  it('streams JSON and NDJSON with the same filters, startTime and userFilter', async () => {
    const json = (await (await get('/api/v1/events/export?format=json&tenant_id=acme')).json()) as Event[];
    expect(ids(json).filter((id) => id.startsWith('seed-'))).toEqual(expected((e) => e.tenant_id === 'acme'));
    expect(json.every((e) => e.tenant_id === 'acme')).toBe(true);
    const cut = base + 30 * 3_600_000;
    const ndjson = (await (await get(`/api/v1/events/export?format=ndjson&startTime=${Math.floor(cut / 1000)}&userFilter=u2`)).text())
      .trim().split('\n').map((line) => JSON.parse(line) as Event);
    expect(ids(ndjson)).toEqual(expected((e) => (e.actor as { id: string }).id === 'u2' && Date.parse(e.occurred_at as string) < cut));
  });

  it('refuses a window wider than the maximum', async () => {
    const response = await get(`/api/v1/events/export?format=csv&from=${new Date(Date.now() - 100 * DAY).toISOString()}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('at most 92 days');
  });
});

describe('live tail', () => {
  async function readEvents(response: Response, count: number): Promise<Array<{ id: string; data: Event }>> {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const out: Array<{ id: string; data: Event }> = [];
    while (out.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) out.push({ id, data: JSON.parse(data) as Event });
      }
    }
    await reader.cancel();
    return out;
  }

  it('sends new events of the caller\'s tenant, and resumes after Last-Event-ID without gaps or duplicates', async () => {
    const controller = new AbortController();
    const response = await get('/api/v1/events/stream?event_type=tail.event', ACME, {});
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const received = readEvents(response, 3);
    await ingest([
      { id: 'tail-1', event_type: 'tail.event', actor: { id: 'u' }, tenant_id: 'acme' },
      { id: 'tail-x', event_type: 'tail.event', actor: { id: 'u' }, tenant_id: 'globex' },
      { id: 'tail-other', event_type: 'other.event', actor: { id: 'u' }, tenant_id: 'acme' },
    ]);
    const resent = { id: 'tail-2', event_type: 'tail.event', occurred_at: new Date().toISOString(), actor: { id: 'u' }, tenant_id: 'acme' };
    await ingest([resent]);
    await ingest([resent]); // a retried delivery: stored twice until merged, shown once
    await ingest([{ id: 'tail-3', event_type: 'tail.event', actor: { id: 'u' }, tenant_id: 'acme' }]);
    const first = await received;
    controller.abort();
    expect(first.map((e) => e.data.event_id)).toEqual(['tail-1', 'tail-2', 'tail-3']);

    // Missed while disconnected, then resumed from the first event's id.
    await ingest([{ id: 'tail-4', event_type: 'tail.event', actor: { id: 'u' }, tenant_id: 'acme' }]);
    const resumed = await readEvents(await get('/api/v1/events/stream?event_type=tail.event', ACME, { 'last-event-id': first[0]!.id }), 3);
    expect(resumed.map((e) => e.data.event_id)).toEqual(['tail-2', 'tail-3', 'tail-4']);
  });
});

describe('POST /api/v1/query', () => {
  const sql = (statement: string, token = ADMIN) =>
    fetch(`${sidecar.apiUrl}/api/v1/query`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: statement }) });

  it('answers read-only SQL with JSON rows', async () => {
    const response = await sql("SELECT tenant_id, count() AS n FROM audit.events FINAL WHERE event_id LIKE 'seed-%' GROUP BY tenant_id ORDER BY tenant_id");
    expect(await response.json()).toEqual({ rows: [{ tenant_id: 'acme', n: 20 }, { tenant_id: 'globex', n: 20 }, { tenant_id: 'initech', n: 20 }], row_count: 3 });
  });

  it('refuses writes, DDL and settings changes, and over-limit results', async () => {
    for (const statement of ["INSERT INTO audit.events (event_id) VALUES ('x')", 'DROP TABLE audit.events', 'SET readonly = 0', 'SELECT 1 SETTINGS readonly = 0']) {
      const response = await sql(statement);
      expect(response.status, statement).toBe(400);
    }
    // Over the result-row limit: 422, as every limit the store enforces.
    expect((await sql('SELECT number FROM numbers(200000)')).status).toBe(422);
    expect((await sql('SELECT count() FROM audit.events')).status).toBe(200);
  });

  it('runs one SELECT-like statement over the analyst tables, and refuses everything else', async () => {
    for (const statement of [
      "KILL QUERY WHERE query LIKE '%INSERT INTO%'",
      'SYSTEM DROP MARK CACHE',
      'SELECT 1; SELECT 2',
      'SELECT query FROM system.processes',
      'SHOW PROCESSLIST',
      'SELECT * FROM `system`.`processes`',
      'SELECT * FROM audit.destinations FINAL',
      'SELECT * FROM audit.export_positions',
      'SELECT count() FROM audit.events WHERE tenant_id IN audit.destinations',
      "SELECT * FROM file('/etc/passwd', 'LineAsString')",
      "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
      "SELECT * FROM merge('system', '^proc')",
      'SELECT * FROM (SELECT * FROM system.one)',
      'SELECT 1 FORMAT TSV',
      "SELECT 1 INTO OUTFILE '/tmp/audit-sidecar-outfile'",
      'DESCRIBE TABLE system.processes',
      'SHOW TABLES FROM system',
      'EXPLAIN SYNTAX KILL QUERY WHERE 1',
    ]) {
      const response = await sql(statement);
      expect(response.status, statement).toBe(400);
    }
    for (const statement of [
      "WITH t AS (SELECT tenant_id FROM audit.events) SELECT count() > 0 AS ok FROM t",
      'SELECT count() > 0 AS ok FROM audit.events AS e WHERE e.tenant_id != \'\'',
      'SELECT sum(number) = 45 AS ok FROM numbers(10)',
      'DESCRIBE TABLE audit.events',
      'EXPLAIN SELECT * FROM audit.events',
      'SHOW TABLES FROM audit',
    ]) {
      const response = await sql(statement);
      expect(response.status, `${statement}: ${await response.clone().text()}`).toBe(200);
    }
  });

  it('a failed query leaves nothing behind for the next one', async () => {
    expect((await sql('SELECT number FROM numbers(200000)')).status).toBe(422); // over the row limit
    const good = await (await sql('SELECT 5 AS five')).json();
    expect(good, JSON.stringify(good).slice(0, 300)).toEqual({ rows: [{ five: 5 }], row_count: 1 });
  });

  it('needs an unbound admin token', async () => {
    expect((await sql('SELECT 1', READER)).status).toBe(403);
    expect((await sql('SELECT 1', ACME_ADMIN)).status).toBe(403);
  });
});

describe('metrics', () => {
  it('are for tokens not bound to a tenant: they count every tenant and name every destination', async () => {
    expect((await get('/metrics', ACME)).status).toBe(403);
    expect((await fetch(`${sidecar.apiUrl}/metrics`)).status).toBe(401);
    expect((await get('/metrics')).status).toBe(200);
  });
});

describe('health', () => {
  it('is ready while the store answers, and ready with the store degraded once it is gone (ingest goes on into the log)', async () => {
    const ready = await fetch(`${sidecar.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('audit_sidecar_api_request_seconds_count{method="GET",route="/api/v1/events"');
    expect(metrics).toContain('audit_sidecar_ingest_records_total{source="json",outcome="accepted"}');
    expect(metrics).toContain('audit_sidecar_store_commit_rows_bucket');
    expect(metrics).toContain('audit_sidecar_store_commit_seconds_bucket');
    expect(metrics).toMatch(/audit_sidecar_ingest_log_bytes \d+/);
    expect(metrics).toContain('audit_sidecar_loader_lag_records 0');
    expect(metrics).toContain('audit_sidecar_loader_failing 0');
    await sidecar.store.readClient.close();
    const degraded = await fetch(`${sidecar.apiUrl}/readyz`);
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({ status: 'ready, store degraded' });
  });
});
