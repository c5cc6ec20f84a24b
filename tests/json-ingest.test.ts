/**
 * POST /v1/audit: every profile's fixtures (input -> stored row), detection, batches with
 * junk, NDJSON, tenant-bound tokens, scopes, idempotent retries and limits, against a
 * started sidecar and the embedded store.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { projectRoot } from '../collector/paths.js';
import { countRows, queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

const INGEST = 'unbound-ingest-token-000000';
const ACME = 'acme-bound-ingest-token-0000';
const READER = 'read-only-token-000000000000';

let sidecar: Sidecar;

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    // Ten years: the fixtures carry fixed dates and must stay inside retention.
    retention: { default_days: 3650, tenants: { acme: 3660 } },
    tokens: [
      { token: INGEST, scopes: ['ingest'] },
      { token: ACME, tenant: 'acme', scopes: ['ingest'] },
      { token: READER, scopes: ['read'] },
    ],
    auditJson: {
      max_records_per_request: 50,
      max_string_length: 1000,
      profiles: {
        vendor: { event_type: '$.kind', actor_email: '$.who.email', occurred_at: '$.at', tenant_id: "$.org['id']", metadata: '$.details' },
      },
    },
  });
});
afterAll(async () => {
  await sidecar?.stop();
});

function post(path: string, body: unknown, { token = INGEST, type = 'application/json' } = {}) {
  return fetch(`${sidecar.ingestUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${token}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

type Row = Record<string, unknown>;

async function rowByRaw(input: unknown): Promise<Row | undefined> {
  const [row] = await queryRows<Row>(
    sidecar,
    'SELECT * EXCEPT occurred_at, toString(occurred_at) AS occurred_at FROM audit.events WHERE raw = {raw:String}',
    { raw: JSON.stringify(input) },
  );
  if (!row) return undefined;
  return { ...row, changes: JSON.parse(row.changes as string), metadata: JSON.parse(row.metadata as string) };
}

interface Fixture {
  name: string;
  input: Record<string, unknown>;
  expected: Record<string, unknown>;
}

const fixtureDir = join(projectRoot(), 'tests/fixtures/profiles');
const fixtures = readdirSync(fixtureDir).flatMap((file) =>
  (JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as Fixture[]).map((f) => ({ profile: file.replace(/\.json$/, ''), ...f })),
);

describe.each(fixtures)('profile $profile: $name', ({ profile, input, expected }) => {
  it('stores the expected row', async () => {
    const response = await post(`/v1/audit/${profile}`, input);
    expect(await response.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });
    expect(response.status).toBe(200);
    const row = await rowByRaw(input);
    expect(row).toMatchObject(expected);
  });
});

describe('detection', () => {
  it.each(fixtures.map((f) => [f.profile, f.name, f.input] as const))('recognises %s (%s) without a named profile', async (profile, _name, input) => {
    const variant = { ...input, detection_test: true };
    const response = await post('/v1/audit', variant);
    expect(response.status).toBe(200);
    expect((await rowByRaw(variant))?.source).toBe(`json:${profile}`);
  });

  it('rejects a record of no known shape, saying how to name a profile', async () => {
    const response = await post('/v1/audit', { hello: 'world' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ error: string }> };
    expect(body.errors[0]!.error).toContain('/v1/audit/{canonical|betterstack|retraced|cloudevents|workos|vendor}');
  });
});

describe('batches', () => {
  it('keeps the good records of a mixed batch and reports the others by index', async () => {
    const good = (n: number) => ({ event_type: 'batch.mixed', actor: { id: `u${n}` } });
    const response = await post('/v1/audit', [good(1), 'junk', 42, good(2)]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { accepted: number; rejected: number; errors: Array<{ index: number; error: string }> };
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(2);
    expect(body.errors.map((e) => e.index)).toEqual([1, 2]);
    expect(body.errors[0]!.error).toContain('expected a JSON object, got a string');
    expect(await countRows(sidecar, "event_type = 'batch.mixed'")).toBe(2);
  });

  it('classifies rejections by reason code for metrics (not by their text)', async () => {
    const { ProfileRegistry } = await import('../pipelines/json/registry.js');
    const { IngestStats } = await import('../collector/receivers/ingest-stats.js');
    const { Metrics } = await import('../collector/telemetry/metrics.js');
    const registry = new ProfileRegistry();
    const ctx = { tenantOverride: undefined, receivedAtNanos: `${Date.now()}000000`, retention: { defaultDays: 90, tenants: {} } };
    const reasons = [
      registry.normalize({ hello: 'world' }, undefined, ctx),
      registry.normalize({ event_type: '', actor: {} }, registry.get('canonical'), ctx),
      registry.normalize({ event_type: 'x', actor: { id: 'u' }, occurred_at: '2001-01-01T00:00:00Z' }, registry.get('canonical'), ctx),
      registry.normalize({ event_type: 'x', actor: { id: 'u' }, changes: 'not json' }, registry.get('canonical'), ctx),
    ].map((r) => (r.ok ? 'ok' : r.reason));
    expect(reasons).toEqual(['unknown_format', 'no_event_type_or_actor', 'outside_retention', 'invalid_value']);
    const metrics = new Metrics();
    new IngestStats(metrics).record('json', 1, [{ reason: 'outside_retention' }, { reason: 'outside_retention' }, { reason: 'over_limit' }]);
    const text = await metrics.registry.getSingleMetricAsString('audit_sidecar_ingest_rejections_total');
    expect(text).toContain('audit_sidecar_ingest_rejections_total{source="json",reason="outside_retention"} 2');
    expect(text).toContain('audit_sidecar_ingest_rejections_total{source="json",reason="over_limit"} 1');
  });

  it('400 for malformed JSON, storing nothing', async () => {
    const before = await countRows(sidecar);
    const response = await post('/v1/audit', '[{"event_type": "x.y", ');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('invalid JSON');
    expect(await countRows(sidecar)).toBe(before);
  });

  it('reads NDJSON line by line, reporting a broken line', async () => {
    const lines = ['{"event_type":"ndjson.ok","actor":{"id":"a"}}', '{"event_type": broken', '', '{"event_type":"ndjson.ok","actor":{"id":"b"}}'];
    const response = await post('/v1/audit', lines.join('\n'), { type: 'application/x-ndjson' });
    const body = (await response.json()) as { accepted: number; errors: Array<{ index: number; error: string }> };
    expect(response.status).toBe(200);
    expect(body.accepted).toBe(2);
    expect(body.errors).toEqual([{ index: 1, error: expect.stringContaining('line is not JSON') }]);
    expect(await countRows(sidecar, "event_type = 'ndjson.ok'")).toBe(2);
  });

  it('accepts application/cloudevents+json and refuses other content types', async () => {
    const event = { specversion: '1.0', id: 'ce-type-1', source: '/s', type: 'x.ce_content_type', authid: 'u' };
    expect((await post('/v1/audit', event, { type: 'application/cloudevents+json' })).status).toBe(200);
    expect((await post('/v1/audit', event, { type: 'text/plain' })).status).toBe(415);
  });

  it('404 with the known profiles for an unknown one', async () => {
    const response = await post('/v1/audit/splunk', { event_type: 'x' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'unknown profile "splunk"', reason: 'not_found', profiles: ['canonical', 'betterstack', 'retraced', 'cloudevents', 'workos', 'vendor'] });
  });

  it('maps a profile defined in config', async () => {
    const input = { kind: 'vendor.thing.delete', who: { email: 'v@example.com' }, at: '2026-11-21T00:00:00Z', org: { id: 'globex' }, details: { n: 1 } };
    expect((await post('/v1/audit/vendor', input)).status).toBe(200);
    expect(await rowByRaw(input)).toMatchObject({
      event_type: 'vendor.thing.delete', action: 'delete', actor_email: 'v@example.com', tenant_id: 'globex',
      occurred_at: '2026-11-21 00:00:00.000000000', metadata: { n: 1 }, source: 'json:vendor',
    });
  });
});

describe('auth', () => {
  it('a tenant-bound token overrides the tenant the payload claims', async () => {
    const input = { event_type: 'auth.override', tenant_id: 'globex', actor: { id: 'u' } };
    expect((await post('/v1/audit/canonical', input, { token: ACME })).status).toBe(200);
    expect(await rowByRaw(input)).toMatchObject({ tenant_id: 'acme', retention_days: 3660 });
  });

  it('401 without a token, 403 without the ingest scope', async () => {
    const input = { event_type: 'auth.refused', actor: { id: 'u' } };
    expect((await post('/v1/audit', input, { token: 'not-a-known-token-at-all' })).status).toBe(401);
    expect((await post('/v1/audit', input, { token: READER })).status).toBe(403);
    expect(await countRows(sidecar, "event_type = 'auth.refused'")).toBe(0);
  });
});

describe('idempotency', () => {
  const finalCount = async (where: string) => {
    const [row] = await queryRows<{ n: string }>(sidecar, `SELECT toString(count()) AS n FROM audit.events FINAL WHERE ${where}`);
    return Number(row!.n);
  };

  it('a resent Better Stack event (no id, no time) is stored once', async () => {
    const input = { email: 'r@example.com', event: 'POST request', organization_id: 77, url: 'https://x.example.com/team/1/monitors/5', user_id: 1, message: 'retry me' };
    for (let i = 0; i < 3; i++) expect((await post('/v1/audit', input)).status).toBe(200);
    expect(await countRows(sidecar, "tenant_id = '77' AND message = 'retry me'")).toBe(1);
  });

  it('copies inside one request are stored once', async () => {
    const line = JSON.stringify({ event_type: 'dup.same_request', actor: { id: 'u' } });
    const response = await post('/v1/audit', `${line}\n${line}\n${line}`, { type: 'application/x-ndjson' });
    expect(((await response.json()) as { accepted: number }).accepted).toBe(3);
    expect(await countRows(sidecar, "event_type = 'dup.same_request'")).toBe(1);
  });

  it('a resent event with its own id and time shows once to analysts (FINAL)', async () => {
    const input = { id: 'evt-retry-1', event_type: 'dup.with_id', occurred_at: '2026-11-21T10:00:00Z', actor: { id: 'u' } };
    expect((await post('/v1/audit', input)).status).toBe(200);
    expect((await post('/v1/audit', input)).status).toBe(200);
    expect(await finalCount("event_type = 'dup.with_id'")).toBe(1);
  });

  it('keeps distinct events with identical content but different source ids', async () => {
    const base = { event_type: 'dup.distinct', occurred_at: '2026-11-21T10:00:00Z', actor: { id: 'u' } };
    expect((await post('/v1/audit', [{ ...base, id: 'a-1' }, { ...base, id: 'a-2' }])).status).toBe(200);
    expect(await finalCount("event_type = 'dup.distinct'")).toBe(2);
  });
});

describe('limits', () => {
  it('a 10,000-level nested document is a 400, and the sidecar stays up', async () => {
    const deep = `{"event_type":"deep","actor":{"id":"u"},"metadata":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const response = await post('/v1/audit', deep);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ error: string }> };
    expect(body.errors[0]!.error).toContain('nested deeper than 32 levels');
    expect((await fetch(`${sidecar.ingestUrl}/healthz`)).status).toBe(200);
  });

  it('a record with an over-long string is rejected by index, the rest kept', async () => {
    const ok = { event_type: 'limits.string', actor: { id: 'ok' } };
    const response = await post('/v1/audit', [ok, { ...ok, message: 'x'.repeat(1001) }]);
    const body = (await response.json()) as { accepted: number; errors: Array<{ index: number; error: string }> };
    expect(body.accepted).toBe(1);
    expect(body.errors).toEqual([{ index: 1, error: 'a string is longer than 1000 characters' }]);
  });

  it('400 naming the byte offset for invalid UTF-8, storing nothing', async () => {
    const prefix = Buffer.from('[{"event_type":"utf8.bad","actor":{"id":"a"},"message":"caf');
    for (const [bad, type] of [
      [Buffer.from([0xe9]), 'application/json'], // Latin-1 é
      [Buffer.from([0xed, 0xa0, 0x80]), 'application/json'], // an encoded surrogate
      [Buffer.from([0xc0, 0xaf]), 'application/x-ndjson'], // overlong
    ] as const) {
      const body = Buffer.concat([type === 'application/json' ? prefix : prefix.subarray(1), bad, Buffer.from(type === 'application/json' ? '"}]' : '"}\n')]);
      const response = await fetch(`${sidecar.ingestUrl}/v1/audit`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${INGEST}` }, body });
      expect(response.status).toBe(400);
      const offset = type === 'application/json' ? prefix.length : prefix.length - 1;
      expect(((await response.json()) as { error: string }).error).toContain(`byte offset ${offset}`);
    }
    expect(await countRows(sidecar, "event_type = 'utf8.bad'")).toBe(0);
  });

  it('413 for more records than a request may hold', async () => {
    const response = await post('/v1/audit', Array.from({ length: 51 }, (_, i) => ({ event_type: 'limits.count', actor: { id: String(i) } })));
    expect(response.status).toBe(413);
    expect(await countRows(sidecar, "event_type = 'limits.count'")).toBe(0);
  });
});
