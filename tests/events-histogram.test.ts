/** GET /api/v1/events/histogram: bucket counts equal the list's totals, by outcome, per tenant. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intervalFor } from '../collector/api/events/histogram.js';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir } from './support/sidecar.js';

const READER = 'reader-token-00000000000000';
const ACME = 'acme-reader-token-000000000';
const DAY = 86_400_000;
const base = Date.now() - 20 * DAY;
let sidecar: Sidecar;

type Histogram = { interval_seconds: number; total: number; buckets: Array<{ start: string; success: number; failure: number; unknown: number; total: number }> };
type Event = { event_id: string; outcome: string; occurred_at: string };

const get = async <T>(path: string, token = READER): Promise<T> => {
  const response = await fetch(`${sidecar.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
};

async function listAll(query: string, token = READER): Promise<Event[]> {
  const out: Event[] = [];
  let cursor: string | null = null;
  do {
    const page: { events: Event[]; next_cursor: string | null } = await get(`/api/v1/events?limit=1000&${query}${cursor ? `&cursor=${cursor}` : ''}`, token);
    out.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir: tempDir(), batch: { timeout: '10ms' }, api: {}, tokens: [{ token: READER, scopes: ['read', 'ingest'] }, { token: ACME, tenant: 'acme', scopes: ['read'] }] });
  const records = Array.from({ length: 900 }, (_, i) => ({
    id: `h-${i}`,
    tenant_id: i % 3 ? 'acme' : 'globex',
    occurred_at: new Date(base + i * 31 * 60_000).toISOString(),
    event_type: i % 4 ? 'user.login' : 'user.logout',
    outcome: ['success', 'failure', 'unknown'][i % 7 === 0 ? 1 : i % 11 === 0 ? 2 : 0],
    actor: { id: `u${i % 5}` },
  }));
  const send = () => fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'POST', headers: { authorization: `Bearer ${READER}`, 'content-type': 'application/json' }, body: JSON.stringify(records.slice(0, 300)) });
  expect((await send()).status).toBe(200);
  expect((await send()).status).toBe(200); // a resent batch is counted once, as the list shows it once
  const rest = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'POST', headers: { authorization: `Bearer ${READER}`, 'content-type': 'application/json' }, body: JSON.stringify(records.slice(300)) });
  expect(rest.status).toBe(200);
});
afterAll(async () => {
  await sidecar?.stop();
});

describe('GET /api/v1/events/histogram', () => {
  it.each([
    ['', READER],
    ['event_type=user.logout', READER],
    ['outcome=failure&actor=u2', READER],
    [`from=${new Date(base + 3 * DAY).toISOString()}&to=${new Date(base + 4 * DAY + 17 * 60_000).toISOString()}`, READER],
    ['', ACME],
    ['tenant_id=globex', ACME],
  ])('counts per bucket add up to the list for "%s"', async (query, token) => {
    const events = await listAll(query, token);
    const h = await get<Histogram>(`/api/v1/events/histogram?${query}`, token);
    expect(h.total).toBe(events.length);
    expect(h.buckets.reduce((n, b) => n + b.total, 0)).toBe(events.length);
    expect(h.buckets.length).toBeLessThanOrEqual(120);
    for (const outcome of ['success', 'failure', 'unknown'] as const) {
      expect(h.buckets.reduce((n, b) => n + b[outcome], 0), outcome).toBe(events.filter((e) => e.outcome === outcome).length);
    }
    // Each event falls in the bucket that starts at or before it.
    const ms = h.interval_seconds * 1000;
    for (const bucket of h.buckets) {
      const start = Date.parse(bucket.start);
      expect(bucket.total).toBe(events.filter((e) => Date.parse(e.occurred_at) >= start && Date.parse(e.occurred_at) < start + ms).length);
    }
  });

  it('picks an interval that keeps the chart to at most 120 buckets', () => {
    expect(intervalFor(3600)).toBe(30);
    expect(intervalFor(86_400)).toBe(1800);
    expect(intervalFor(30 * 86_400)).toBe(6 * 3600);
    expect(intervalFor(365 * 86_400)).toBe(7 * 86_400);
  });
});
