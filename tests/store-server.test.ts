/**
 * The ClickHouse server path (`exporters.clickhouse.endpoint: http://…`), against the test
 * server of support/clickhouse-http.ts (chDB behind ClickHouse's HTTP interface, in a child
 * process): the server itself, then a real sidecar on it — migrations, OTLP and JSON ingest
 * read back through the API, SQL, export to a receiver, and an outage made by killing it.
 */
import { get } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { AUDIT_EVENT_COLUMNS } from '../schemas/audit-event.js';
import { loadMigrations } from '../collector/store/migrations.js';
import type { Sidecar } from '../collector/sidecar.js';
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.js';
import { attr, startReceiver, waitFor, type TestReceiver } from './support/otlp-receiver.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { countRows, queryRows, startTestSidecar, tempDir, type TestConfigOptions } from './support/sidecar.js';

const ADMIN = 'admin-token-0000000000000000';
const INGEST = 'ingest-token-000000000000000';

let server: ClickHouseHttp;
let client: ClickHouseClient;
let receiver: TestReceiver;
let sidecar: Sidecar | undefined;
let options: TestConfigOptions;

beforeAll(async () => {
  server = await startClickHouseHttp({ dataDir: tempDir() });
  client = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF } });
  receiver = await startReceiver();
  options = {
    dataDir: tempDir(),
    storeEndpoint: server.url,
    batch: { timeout: '10ms' },
    api: {},
    tokens: [
      { token: ADMIN, scopes: ['admin', 'read'] },
      { token: INGEST, scopes: ['ingest'] },
    ],
    destinations: { siem: { endpoint: `${receiver.url}/v1/logs`, max_batch_size: 50, retry: { initial_interval: '100ms', max_interval: '500ms' } } },
  };
});

afterAll(async () => {
  await sidecar?.stop();
  await client?.close();
  await receiver?.close();
  await server?.stop();
});

describe('the test server', () => {
  beforeAll(async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS srv' });
    await client.command({ query: 'CREATE TABLE srv.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id' });
    await client.insert({ table: 'srv.t', values: [{ id: 1, s: "it's" }, { id: 2, s: 'back\\slash' }, { id: 3, s: 'plain' }], format: 'JSONEachRow' });
  });

  it('answers /ping', async () => {
    const response = await fetch(`${server.url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('Ok.\n');
    expect(await client.ping()).toEqual({ success: true });
  });

  it('binds param_* values: quotes and backslashes match as data and cannot inject', async () => {
    const ids = async (query: string, query_params: Record<string, unknown>) =>
      (await (await client.query({ query, query_params, format: 'JSONEachRow' })).json<{ id: number }>()).map((r) => r.id);
    expect(await ids('SELECT id FROM srv.t WHERE s = {s:String}', { s: "it's" })).toEqual([1]);
    expect(await ids('SELECT id FROM srv.t WHERE s = {s:String}', { s: 'back\\slash' })).toEqual([2]);
    expect(await ids('SELECT id FROM srv.t WHERE s = {s:String}', { s: "x' OR '1'='1" })).toEqual([]);
    expect(await ids('SELECT id FROM srv.t WHERE s = {s:String}', { s: "x\\' OR 1=1 --" })).toEqual([]);
    expect(await ids('SELECT id FROM srv.t WHERE s IN {s:Array(String)} ORDER BY id', { s: ["it's", "') OR 1=1 --", 'plain'] })).toEqual([1, 3]);
    // A placeholder without its param_ value is an error, as on a server.
    await expect(client.query({ query: 'SELECT {missing:String}' })).rejects.toMatchObject({ code: '456' });
    // Values sent in a multipart body instead of the URL.
    const multipart = createClient({ url: server.url, use_multipart_params: true, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const rows = await (await multipart.query({ query: 'SELECT id FROM srv.t WHERE s = {s:String}', query_params: { s: "it's" }, format: 'JSONEachRow' })).json();
      expect(rows).toEqual([{ id: 1 }]);
    } finally {
      await multipart.close();
    }
  });

  it('answers errors with a non-200 status and X-ClickHouse-Exception-Code; the client parses the code', async () => {
    const response = await fetch(`${server.url}/?query=${encodeURIComponent('SELECT * FROM srv.nope')}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await response.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
    await expect(client.query({ query: 'SELECT * FROM srv.nope' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    await expect(client.command({ query: 'SELEC 1' })).rejects.toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    // A server runs one statement a request; chDB alone would run both.
    await expect(client.command({ query: 'SELECT 1; DROP TABLE srv.t' })).rejects.toMatchObject({ code: '62' });
    await expect(client.command({ query: 'DROP TABLE srv.t', clickhouse_settings: { readonly: '1' } })).rejects.toMatchObject({ code: '164', type: 'READONLY' });
    // A GET is read-only, as on a server.
    const viaGet = await fetch(`${server.url}/?query=${encodeURIComponent('DROP TABLE srv.t')}`);
    expect([viaGet.status, viaGet.headers.get('x-clickhouse-exception-code')]).toEqual([500, '164']);
    expect(await tableCount('srv.t')).toBe(3);
  });

  it('compresses responses when asked and takes compressed bodies', async () => {
    const url = `${server.url}/?enable_http_compression=1&query=${encodeURIComponent('SELECT id FROM srv.t ORDER BY id FORMAT CSV')}`;
    // node:http, not fetch: fetch would inflate the body before the test sees it.
    const gzipped = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    expect(gzipped.encoding).toBe('gzip');
    expect(gunzipSync(gzipped.body).toString()).toBe('1\n2\n3\n');
    const raw = await fetch(`${server.url}/?query=${encodeURIComponent('INSERT INTO srv.t FORMAT JSONEachRow')}`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync('{"id":4,"s":"gz"}\n'),
    });
    expect(raw.status).toBe(200);
    const compressed = createClient({ url: server.url, compression: { request: true, response: true }, log: { level: ClickHouseLogLevel.OFF } });
    try {
      await compressed.insert({ table: 'srv.t', values: [{ id: 5, s: 'gz2' }], format: 'JSONEachRow' });
      const rows = await (await compressed.query({ query: "SELECT id FROM srv.t WHERE s LIKE 'gz%' ORDER BY id", format: 'JSONEachRow' })).json();
      expect(rows).toEqual([{ id: 4 }, { id: 5 }]);
    } finally {
      await compressed.close();
    }
  });

  it('runs requests side by side: a slow query does not hold up an insert', async () => {
    const started = Date.now();
    const slow = client.query({ query: 'SELECT sleepEachRow(0.5) FROM numbers(4)', format: 'JSONEachRow' }).then(async (r) => {
      await r.json();
      return Date.now() - started;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.insert({ table: 'srv.t', values: [{ id: 6, s: 'beside' }], format: 'JSONEachRow' });
    const insertedAfter = Date.now() - started;
    expect(await tableCount("srv.t WHERE s = 'beside'")).toBe(1);
    expect(insertedAfter).toBeLessThan(1_500);
    expect(await slow).toBeGreaterThanOrEqual(2_000);
  });

  it('pause() hangs the server until resume()', async () => {
    const impatient = createClient({ url: server.url, request_timeout: 300, log: { level: ClickHouseLogLevel.OFF } });
    try {
      server.pause();
      await expect(impatient.query({ query: 'SELECT 1', format: 'JSONEachRow' })).rejects.toThrow(/Timeout/i);
      server.resume();
      expect(await (await impatient.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }]);
    } finally {
      server.resume();
      await impatient.close();
    }
  });

  it('inserts a Native body byte for byte', async () => {
    const exported = await client.exec({ query: 'SELECT id + 100 AS id, s FROM (SELECT id, s FROM srv.t WHERE id <= 3) FORMAT Native' });
    const chunks: Buffer[] = [];
    for await (const chunk of exported.stream) chunks.push(chunk as Buffer);
    const inserted = await client.exec({ query: 'INSERT INTO srv.t (id, s) FORMAT Native', values: Buffer.concat(chunks) as unknown as never });
    for await (const _ of inserted.stream);
    const rows = await (await client.query({ query: 'SELECT id, s FROM srv.t WHERE id > 100 ORDER BY id', format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ id: 101, s: "it's" }, { id: 102, s: 'back\\slash' }, { id: 103, s: 'plain' }]);
  });
});

async function tableCount(table: string): Promise<number> {
  const [row] = await (await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(row?.n);
}

function sendOtlp(records: Parameters<typeof otlpRequest>[0]) {
  return fetch(`${sidecar!.ingestUrl}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${INGEST}` },
    body: encodeProtobuf(otlpRequest(records, { 'service.name': 'billing', 'tenant.id': 'acme' })),
  });
}

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${sidecar!.apiUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

type Listed = { events: Array<Record<string, unknown> & { event_id: string }> };

describe('a sidecar on the ClickHouse server', () => {
  it('applies the migrations on the server', async () => {
    sidecar = await startTestSidecar(options);
    const applied = await queryRows<{ name: string }>(sidecar, 'SELECT name FROM audit.schema_migrations ORDER BY version');
    expect(applied.map((r) => r.name)).toEqual((await loadMigrations({ database: 'audit', cluster: undefined })).map((m) => m.name));
    const described = await queryRows<{ name: string; type: string }>(sidecar, 'DESCRIBE TABLE audit.events');
    expect(described.map((c) => [c.name, c.type])).toEqual(AUDIT_EVENT_COLUMNS.map((c) => [c.name, c.type]));
  });

  it('stores OTLP and JSON ingest and reads it back through the API', async () => {
    const otlp = await sendOtlp([
      { eventName: 'server.otlp', body: "quote ' and \\ backslash", attributes: { 'user.id': 'u1', 'log.record.uid': 'srv-otlp-1' } },
      { eventName: 'server.otlp', body: 'second', attributes: { 'user.id': 'u2', 'log.record.uid': 'srv-otlp-2' } },
    ]);
    expect(otlp.status).toBe(200);
    const json = await fetch(`${sidecar!.ingestUrl}/v1/audit/canonical`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST}` },
      body: JSON.stringify([{ id: 'srv-json-1', tenant_id: 'acme', event_type: 'server.json', actor: { id: 'u3' }, metadata: { plan: 'pro' } }]),
    });
    expect(await json.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });
    const listed = await apiGet<Listed>('/api/v1/events?event_type=server.otlp');
    expect(listed.events.map((e) => e.event_id).sort()).toEqual(['srv-otlp-1', 'srv-otlp-2']);
    expect(listed.events.find((e) => e.event_id === 'srv-otlp-1')).toMatchObject({ message: "quote ' and \\ backslash", actor_id: 'u1', tenant_id: 'acme' });
    const one = await apiGet<Record<string, unknown>>('/api/v1/events/srv-json-1');
    expect(one).toMatchObject({ event_id: 'srv-json-1', event_type: 'server.json', actor_id: 'u3', source: 'json:canonical', metadata: { plan: 'pro' } });
  });

  it('answers read-only SQL on POST /api/v1/query and refuses writes', async () => {
    const sql = (statement: string) =>
      fetch(`${sidecar!.apiUrl}/api/v1/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: statement }),
      });
    const response = await sql("SELECT event_type, count() AS n FROM audit.events WHERE event_type LIKE 'server.%' GROUP BY event_type ORDER BY event_type");
    expect(await response.json()).toEqual({ rows: [{ event_type: 'server.json', n: 1 }, { event_type: 'server.otlp', n: 2 }], row_count: 2 });
    for (const statement of ['DROP TABLE audit.events', "INSERT INTO audit.events (event_id) VALUES ('x')", 'SELECT 1; DROP TABLE audit.events']) {
      expect((await sql(statement)).status, statement).toBe(400);
    }
    expect(await countRows(sidecar!, "event_type LIKE 'server.%'")).toBe(3);
  });

  it('exports what was stored to a downstream receiver, in order', async () => {
    await waitFor(() => receiver.accepted.length >= 3, 20_000, 'the export of 3 records');
    expect(receiver.accepted.map((r) => attr(r, 'log.record.uid'))).toEqual(['srv-otlp-1', 'srv-otlp-2', 'srv-json-1']);
  });

  // The ingest log rides out the outage: the request is acknowledged, the loader retries,
  // and the events load once the server is back. Keep this `it` the one place that states
  // the outage behavior of this file.
  it('a killed server: ingest is still acknowledged; after restart() the loader stores what waited, and export goes on', async () => {
    await server.kill();
    expect(server.running).toBe(false);
    const during = await sendOtlp([{ eventName: 'server.outage.during', attributes: { 'user.id': 'u', 'log.record.uid': 'srv-during' } }]);
    expect(during.status).toBe(200);
    await waitFor(() => sidecar!.store.loader.status.state === 'retrying', 10_000, 'the loader to see the outage');
    await server.restart();
    expect(server.running).toBe(true);
    const after = await sendOtlp([{ eventName: 'server.outage.after', attributes: { 'user.id': 'u', 'log.record.uid': 'srv-after' } }]);
    expect(after.status).toBe(200);
    expect(await countRows(sidecar!, "event_type = 'server.outage.after'")).toBe(1);
    expect(await countRows(sidecar!, "event_type = 'server.outage.during'")).toBe(1);
    // What was stored before the kill survived it.
    expect(await countRows(sidecar!, "event_type LIKE 'server.%' AND event_type NOT LIKE 'server.outage.%'")).toBe(3);
    await waitFor(() => receiver.accepted.some((r) => attr(r, 'log.record.uid') === 'srv-after'), 20_000, 'the export after the restart');
    expect(receiver.accepted.map((r) => attr(r, 'log.record.uid')).slice(-2)).toEqual(['srv-during', 'srv-after']);
  });
});
