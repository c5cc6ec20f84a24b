/**
 * The destinations admin API against a started sidecar and real receivers on 127.0.0.1
 * (allowed here by extensions.api.allow_private_destinations).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { attr, startReceiver, waitFor, type TestReceiver } from './support/otlp-receiver.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { queryRows, startTestSidecar, tempDir, type TestConfigOptions } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const ADMIN = 'admin-token-0123456789abcdef';
const TENANT_ADMIN = 'tenant-admin-token-0123456789';
const READER = 'reader-token-0123456789abcdef';
const INGEST = 'ingest-token-0123456789abcdef';

let sidecar: Sidecar;
let options: TestConfigOptions;
let receiver: TestReceiver;
let requiredKey = 'new-key';
let sent = 0;

beforeAll(async () => {
  receiver = await startReceiver((r) => (r.headers['x-api-key'] === requiredKey ? { status: 200 } : { status: 401, body: '{"message":"bad key"}' }));
  options = {
    dataDir: tempDir(),
    batch: { timeout: '10ms' },
    api: { allow_private_destinations: true },
    tokens: [
      { token: ADMIN, scopes: ['admin', 'read'] },
      { token: TENANT_ADMIN, tenant: 'acme', scopes: ['admin'] },
      { token: READER, scopes: ['read'] },
      { token: INGEST, scopes: ['ingest'] },
    ],
  };
  sidecar = await startTestSidecar(options);
});
afterAll(async () => {
  await sidecar?.stop();
  await receiver?.close();
});

function api(method: string, path: string, body?: unknown, token = ADMIN) {
  return fetch(`${sidecar.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function ingest(count: number) {
  const records = Array.from({ length: count }, () => ({ eventName: 'api.export', attributes: { 'user.id': 'u', 'log.record.uid': `api-${++sent}` } }));
  const response = await fetch(`${sidecar.ingestUrl}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${INGEST}` },
    body: encodeProtobuf(otlpRequest(records)),
  });
  expect(response.status).toBe(200);
}

type DestinationView = { id: string; headers: Record<string, string>; status: Record<string, unknown> & { last_error: { http_status: number } | null } };

describe('destinations admin API', () => {
  let id = '';

  it('needs an unbound admin token', async () => {
    expect((await api('GET', '/api/v1/destinations', undefined, 'nope-nope-nope-nope')).status).toBe(401);
    expect((await api('GET', '/api/v1/destinations', undefined, READER)).status).toBe(403);
    expect((await api('GET', '/api/v1/destinations', undefined, TENANT_ADMIN)).status).toBe(403);
    expect((await api('GET', '/api/v1/destinations')).status).toBe(200);
  });

  it('refuses invalid destinations with a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 's', endpoint: receiver.url, max_batch_size: 0 }, 'max_batch_size'],
      [{ name: 's', endpoint: receiver.url, max_batch_size: 1001 }, 'max_batch_size'],
      [{ name: 's', endpoint: 'ftp://siem.example.com/logs' }, 'endpoint'],
      [{ name: 's', endpoint: receiver.url, headers: { 'X-Key': 'a\r\nInjected: 1' } }, 'headers.X-Key'],
      [{ name: 's', endpoint: receiver.url, headers: { 'X-Key': 'a\u2028b' } }, 'headers.X-Key'],
      [{ name: 's', endpoint: receiver.url, headers: { 'X-Key': 'a\u0085b' } }, 'headers.X-Key'],
      [{ name: 's', endpoint: receiver.url, headers: { 'X-Key': ' padded' } }, 'headers.X-Key'],
      [{ name: 's', endpoint: receiver.url, headers: { 'X-Kéy': 'v' } }, 'headers.X-Kéy'],
      [{ name: 's', endpoint: `${receiver.url}\r\nInjected: 1` }, 'endpoint'],
      [{ name: 's', endpoint: `${receiver.url}\u2028` }, 'endpoint'],
      [{ name: 'a\r\n{"level":"error"}', endpoint: receiver.url }, 'name'],
      [{ name: 'a\u2028b', endpoint: receiver.url }, 'name'],
      [{ name: 's', endpoint: receiver.url, headers: { Host: 'evil' } }, 'headers.Host'],
      [{ name: 's', endpoint: receiver.url, headers: { 'Bad Header': 'x' } }, 'headers.Bad Header'],
      [{ endpoint: receiver.url }, 'name'],
      [{ name: 's', endpoint: receiver.url, start_from: 'yesterday' }, 'start_from'],
    ];
    for (const [body, field] of cases) {
      const response = await api('POST', '/api/v1/destinations', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const answer = (await response.json()) as { problems: Array<{ field: string }> };
      expect(answer.problems.map((p) => p.field)).toContain(field);
    }
  });

  it('creates a destination that starts with new events, masks its headers, and surfaces a 401', async () => {
    await ingest(5); // before the destination exists: not exported
    const response = await api('POST', '/api/v1/destinations', {
      name: 'SIEM', endpoint: receiver.url, headers: { 'x-api-key': 'old-key', Authorization: 'Bearer s3cr3t-value' }, max_batch_size: 3,
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as DestinationView;
    id = created.id;
    expect(created.headers).toEqual({ 'x-api-key': '***', Authorization: '***' });
    expect(JSON.stringify(created)).not.toContain('s3cr3t');
    await ingest(7);
    await waitFor(async () => ((await (await api('GET', `/api/v1/destinations/${id}`)).json()) as DestinationView).status.state === 'failing', 10_000, 'failing');
    const view = (await (await api('GET', `/api/v1/destinations/${id}`)).json()) as DestinationView;
    expect(view.status).toMatchObject({ state: 'failing', last_error: { http_status: 401 }, lag_records: 7, exported_records: 0 });
    expect(receiver.accepted).toHaveLength(0);
  });

  it('delivers everything once PATCH fixes the header, keeping masked values as they were', async () => {
    const response = await api('PATCH', `/api/v1/destinations/${id}`, { headers: { 'x-api-key': 'new-key', Authorization: '***' } });
    expect(response.status).toBe(200);
    await waitFor(() => receiver.accepted.length >= 7, 10_000, 'delivery after PATCH');
    expect(receiver.accepted.map((r) => attr(r, 'log.record.uid'))).toEqual(['api-6', 'api-7', 'api-8', 'api-9', 'api-10', 'api-11', 'api-12']);
    expect(Math.max(...receiver.requests.map((r) => r.records.length))).toBeLessThanOrEqual(3);
    const last = receiver.requests[receiver.requests.length - 1]!;
    expect(last.headers.authorization).toBe('Bearer s3cr3t-value');
    // The loop reports a batch once it has the receiver's answer, a moment after the receiver has the records.
    const view = async () => (await (await api('GET', `/api/v1/destinations/${id}`)).json()) as DestinationView;
    await waitFor(async () => (await view()).status.exported_records === 7, 10_000, 'status after delivery');
    expect((await view()).status).toMatchObject({ state: 'ok', exported_records: 7, lag_records: 0 });
    // A PATCH changes how events are sent, not what was sent: the count goes on.
    expect((await api('PATCH', `/api/v1/destinations/${id}`, { max_batch_size: 4 })).status).toBe(200);
    expect((await view()).status.exported_records).toBe(7);
  });

  it('sends a test record and returns the receiver\'s answer', async () => {
    const response = await api('POST', `/api/v1/destinations/${id}/test`);
    expect(await response.json()).toEqual({ ok: true, http_status: 200, message: 'accepted' });
    expect(receiver.requests[receiver.requests.length - 1]!.records[0]!.eventName).toBe('audit_sidecar.destination_test');
  });

  it('shows export figures in /metrics', async () => {
    const text = await (await api('GET', '/metrics')).text();
    expect(text).toContain(`audit_sidecar_export_records{destination="${id}"} 7`);
    expect(text).toContain(`audit_sidecar_export_state{destination="${id}",state="ok"} 1`);
    expect(text).toContain('audit_sidecar_ingest_records_total{source="otlp",outcome="accepted"} 12');
    expect(text).not.toContain('s3cr3t');
  });

  it('keeps API-made destinations and their positions across a restart; start_from earliest replays history', async () => {
    const replay = (await (await api('POST', '/api/v1/destinations', { name: 'replay', endpoint: receiver.url, headers: { 'x-api-key': 'new-key' }, start_from: 'earliest' })).json()) as DestinationView;
    await waitFor(async () => ((await (await api('GET', `/api/v1/destinations/${replay.id}`)).json()) as DestinationView).status.exported_records === 12, 10_000, 'replay');
    await sidecar.stop();
    sidecar = await startTestSidecar(options);
    const list = (await (await api('GET', '/api/v1/destinations')).json()) as { destinations: DestinationView[] };
    expect(list.destinations.map((d) => d.id).sort()).toEqual([id, replay.id].sort());
    const before = receiver.accepted.length;
    await ingest(2);
    await waitFor(() => receiver.accepted.length >= before + 4, 10_000, 'both destinations after restart');
    expect(receiver.accepted.slice(before).map((r) => attr(r, 'log.record.uid')).sort()).toEqual(['api-13', 'api-13', 'api-14', 'api-14']);
  });

  it('starts from an RFC 3339 time: the events received from then on', async () => {
    const other = await startReceiver();
    try {
      await ingest(2); // api-15, api-16: before the start time
      await new Promise((r) => setTimeout(r, 20));
      const startFrom = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 20));
      await ingest(3); // api-17 .. api-19
      const response = await api('POST', '/api/v1/destinations', { name: 'from-time', endpoint: other.url, start_from: startFrom });
      expect(response.status).toBe(201);
      await waitFor(() => other.accepted.length >= 3, 10_000, 'time-based replay');
      expect(other.accepted.map((r) => attr(r, 'log.record.uid'))).toEqual(['api-17', 'api-18', 'api-19']);
    } finally {
      await other.close();
    }
  });

  it('never stores header values in clear; the key file is private to the owner', async () => {
    const rows = await queryRows(sidecar, 'SELECT * FROM audit.destinations');
    expect(rows.length).toBeGreaterThan(0);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('new-key');
    expect(text).toContain('aes256gcm:');
    expect(statSync(join(options.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    // Nor through analysts' SQL, whatever the spelling.
    for (const sql of ['SELECT * FROM audit.destinations FINAL', 'SELECT * FROM audit.`destinations`', 'SELECT * FROM merge(\'audit\', \'^dest\')']) {
      const response = await api('POST', '/api/v1/query', { sql });
      expect(response.status, sql).toBe(400);
      expect(await response.text()).not.toContain('aes256gcm');
    }
  });

  it('deletes a destination, and its secrets with it', async () => {
    expect((await api('DELETE', `/api/v1/destinations/${id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/destinations/${id}`)).status).toBe(404);
    const rows = await queryRows<{ spec: string; deleted: number }>(sidecar, 'SELECT spec, deleted FROM audit.destinations WHERE id = {id:String}', { id });
    expect(rows).toEqual([{ spec: '{}', deleted: 1 }]);
    await sidecar.stop();
    sidecar = await startTestSidecar(options);
    expect((await api('GET', `/api/v1/destinations/${id}`)).status).toBe(404);
  });
});
