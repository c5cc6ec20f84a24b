/**
 * One error model, seen from outside: every error answer from either listener carries a
 * status, a message saying what is wrong, and a stable `reason`; store errors map the
 * same way everywhere (syntax 400, limits 422, timeouts 504, store down 503 + Retry-After).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { errorResponse, toHttpError } from '../collector/http/error-response.js';
import { StoreBusyError } from '../collector/errors.js';
import { startTestSidecar, tempDir } from './support/sidecar.js';

const ADMIN_ONLY = 'admin-only-token-00000000000';
const READER = 'reader-token-00000000000000';
const INGEST = 'ingest-token-000000000000000';

let sidecar: Sidecar;

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    api: { sql: { timeout: '1s' } },
    tokens: [
      { token: ADMIN_ONLY, scopes: ['admin'] },
      { token: READER, scopes: ['read'] },
      { token: INGEST, scopes: ['ingest'] },
    ],
  });
});
afterAll(async () => {
  await sidecar?.stop();
});

const api = (path: string, init: RequestInit = {}, token = READER) =>
  fetch(`${sidecar.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
const sql = (statement: string) =>
  api('/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: statement }) }, ADMIN_ONLY);

async function expectError(response: Response, status: number, reason: string, message?: RegExp) {
  const body = (await response.json()) as { error: string; reason: string };
  expect(response.status, body.error).toBe(status);
  expect(body.reason).toBe(reason);
  if (message) expect(body.error).toMatch(message);
}

describe('the events API', () => {
  it('answers 400 naming unknown query parameters, on every route', async () => {
    await expectError(await api('/api/v1/events?evnet_type=user.login&limit=5'), 400, 'invalid_request', /unknown query parameter "evnet_type" \(accepted: .*event_type/);
    await expectError(await api('/api/v1/events/export?format=csv&usr=1&zz=2'), 400, 'invalid_request', /unknown query parameters "usr", "zz"/);
    await expectError(await api('/api/v1/events/stream?outcomes=failure'), 400, 'invalid_request', /"outcomes"/);
  });

  it('answers 400 for a value outside an enum filter', async () => {
    await expectError(await api('/api/v1/events?outcome=bogus'), 400, 'invalid_request', /outcome must be one of success, failure, unknown, got "bogus"/);
    expect((await api('/api/v1/events?outcome=failure')).status).toBe(200);
  });

  it('lets an admin-scoped token read (admin implies read)', async () => {
    expect((await api('/api/v1/events', {}, ADMIN_ONLY)).status).toBe(200);
    await expectError(await api('/api/v1/events', {}, INGEST), 403, 'forbidden');
    await expectError(await api('/api/v1/events', {}, 'no-such-token-000000000000'), 401, 'unauthenticated');
  });

  it('answers unknown paths, events and destinations with 404 and a reason', async () => {
    await expectError(await api('/api/v2/nothing'), 404, 'not_found');
    await expectError(await api('/api/v1/events/no-such-id'), 404, 'not_found', /^no such event$/);
    await expectError(await api('/api/v1/destinations/nope', {}, ADMIN_ONLY), 404, 'not_found', /^no such destination$/);
    await expectError(await api('/api/v1/destinations/nope', { method: 'DELETE' }, ADMIN_ONLY), 404, 'not_found');
  });
});

describe('the SQL route', () => {
  it('maps store errors: syntax 400, limits 422, time limit 504', async () => {
    await expectError(await sql('SELEC 1'), 400, 'invalid_request', /^Syntax error/);
    await expectError(await sql('SELECT * FROM audit.nope'), 400, 'invalid_request');
    await expectError(await sql('SELECT number FROM numbers(200000)'), 422, 'limit_exceeded', /Limit for result exceeded/);
    await expectError(await sql('SELECT sleep(2)'), 504, 'timeout', /Timeout exceeded/);
  });

  it('answers 405 with Allow for another method', async () => {
    const response = await api('/api/v1/query', {}, ADMIN_ONLY);
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed');
  });
});

describe('the ingest listener', () => {
  it('answers GET /v1/logs with 405 and Allow: POST', async () => {
    const response = await fetch(`${sidecar.ingestUrl}/v1/logs`);
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed', /^GET is not allowed on \/v1\/logs \(allowed: POST\)$/);
    const audit = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'PUT' });
    expect(audit.headers.get('allow')).toBe('POST');
    await expectError(audit, 405, 'method_not_allowed');
  });

  it('names every accepted content type in the 415 for /v1/audit', async () => {
    const response = await fetch(`${sidecar.ingestUrl}/v1/audit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    await expectError(response, 415, 'unsupported_media_type', /application\/cloudevents-batch\+json/);
  });
});

describe('errorResponse', () => {
  it('answers a store that cannot be reached with 503 and Retry-After, a full store with 429', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    const { response } = errorResponse(refused);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await response.json()).toEqual({ error: 'the store is unavailable: connect ECONNREFUSED 127.0.0.1:8123', reason: 'store_unavailable' });
    expect(toHttpError(new StoreBusyError(10))).toMatchObject({ status: 429, reason: 'busy', retryAfterSeconds: 1 });
    expect(toHttpError(new TypeError('boom'))).toMatchObject({ status: 503, reason: 'internal' });
  });
});
