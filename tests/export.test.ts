/**
 * Re-export to real OTLP/HTTP receivers on 127.0.0.1: batch sizes, headers, ordering,
 * outages with 503 and Retry-After, failures surfaced and retried, 413 splitting, JSON
 * encoding, a restart while the receiver is down, and masked secrets in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../collector/log.js';
import type { Sidecar } from '../collector/sidecar.js';
import { attr, startReceiver, waitFor, type TestReceiver } from './support/otlp-receiver.js';
import { startTestSidecar, tempDir, testConfig, type TestConfigOptions } from './support/sidecar.js';
import { closeClients, openClient } from '../collector/store/clickhouse-client.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const SECRET = 'Bearer siem-secret-token-1234';
let sidecar: Sidecar;
const receivers = {} as Record<"one" | "seven" | "thousand" | "flaky" | "slow" | "auth" | "json" | "small" | "sparse", TestReceiver>;
const logLines: string[] = [];
let options: TestConfigOptions;
let state = { down: false, retryAfterOnce: false, requireKey: 'right' };
let sent = 0;

async function ingest(count: number, eventName = 'export.test', perRequest = 100) {
  for (let done = 0; done < count; done += perRequest) {
    const n = Math.min(perRequest, count - done);
    const records = Array.from({ length: n }, () => {
      sent += 1;
      return { eventName, body: `event ${sent}`, attributes: { 'user.id': 'u', 'log.record.uid': `uid-${sent}`, n: sent } };
    });
    const response = await fetch(`${sidecar.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeProtobuf(otlpRequest(records, { 'service.name': 'billing', 'tenant.id': 'acme' })),
    });
    expect(response.status).toBe(200);
  }
}

const sequence = (records: Array<Record<string, unknown>>) => records.map((r) => Number(attr(r, 'log.record.uid')!.slice(4)));

beforeAll(async () => {
  receivers.one = await startReceiver();
  receivers.seven = await startReceiver();
  receivers.thousand = await startReceiver();
  receivers.flaky = await startReceiver(() => (state.down ? { status: 503, body: '{"message":"maintenance"}' } : { status: 200 }));
  receivers.slow = await startReceiver(() => {
    if (state.retryAfterOnce) {
      state.retryAfterOnce = false;
      return { status: 429, headers: { 'retry-after': '2' } };
    }
    return { status: 200 };
  });
  receivers.auth = await startReceiver((r) => (r.headers['x-api-key'] === state.requireKey ? { status: 200 } : { status: 401, body: '{"message":"bad key"}' }));
  receivers.json = await startReceiver();
  receivers.small = await startReceiver((r) => (r.records.length > 40 ? { status: 413 } : { status: 200 }));
  receivers.sparse = await startReceiver();
  const fast = { retry: { initial_interval: '100ms', max_interval: '500ms' } };
  options = {
    dataDir: tempDir(),
    batch: { timeout: '10ms' },
    destinations: {
      one: { endpoint: receivers.one.url, max_batch_size: 1, event_types: ['export.single'], ...fast },
      seven: { endpoint: receivers.seven.url, max_batch_size: 7, ...fast },
      thousand: { endpoint: receivers.thousand.url, max_batch_size: 1000, headers: { Authorization: SECRET }, ...fast },
      flaky: { endpoint: receivers.flaky.url, max_batch_size: 100, ...fast },
      slow: { endpoint: receivers.slow.url, max_batch_size: 100, retry: { initial_interval: '100ms', max_interval: '10s' } },
      auth: { endpoint: receivers.auth.url, max_batch_size: 100, headers: { 'x-api-key': 'wrong' }, ...fast },
      json: { endpoint: receivers.json.url, encoding: 'json', compression: 'none', ...fast },
      small: { endpoint: receivers.small.url, max_batch_size: 100, ...fast },
    },
  };
  sidecar = await startTestSidecar(options, createLogger('debug', {}, (line) => logLines.push(line)));
});

afterAll(async () => {
  await sidecar?.stop();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
});

const status = (id: string) => sidecar.exports.get(id)!.worker.status;

describe('export to OTLP receivers', () => {
  it('delivers every event in ingest order, never more per request than max_batch_size', async () => {
    await ingest(1500);
    await ingest(30, 'export.single');
    const all = Array.from({ length: 1530 }, (_, i) => i + 1);
    await waitFor(() => receivers.seven.accepted.length >= 1530 && receivers.thousand.accepted.length >= 1530 && receivers.one.accepted.length >= 30, 30_000, 'all batches');
    expect(sequence(receivers.seven.accepted)).toEqual(all);
    expect(sequence(receivers.thousand.accepted)).toEqual(all);
    expect(sequence(receivers.one.accepted)).toEqual(all.slice(1500));
    expect(Math.max(...receivers.one.requests.map((r) => r.records.length))).toBe(1);
    expect(Math.max(...receivers.seven.requests.map((r) => r.records.length))).toBe(7);
    expect(Math.max(...receivers.thousand.requests.map((r) => r.records.length))).toBeLessThanOrEqual(1000);
    // The loop reports a batch once it has the receiver's answer, a moment after the receiver has the records.
    await waitFor(() => status('thousand').exported_records >= 1530, 10_000, 'status after delivery');
    expect(status('thousand')).toMatchObject({ state: 'ok', exported_records: 1530, last_error: null });
    // Loops inside the ingest log read the log, not the store.
    expect(sidecar.exports.storeReads).toBe(0);
  });

  it('sends the configured headers and the §5 attributes', () => {
    const request = receivers.thousand.requests[0]!;
    expect(request.headers.authorization).toBe(SECRET);
    expect(request.headers['content-type']).toBe('application/x-protobuf');
    expect(request.headers['content-encoding']).toBe('gzip');
    const record = receivers.thousand.accepted[0]!;
    expect(record.eventName).toBe('export.test');
    expect(attr(record, 'user.id')).toBe('u');
    expect(request.resources[0]).toMatchObject({ attributes: expect.arrayContaining([{ key: 'service.name', value: { stringValue: 'billing' } }]) });
  });

  it('encodes JSON when asked', async () => {
    await waitFor(() => receivers.json.accepted.length >= 1530, 20_000, 'json export');
    expect(receivers.json.requests[0]!.headers['content-type']).toBe('application/json');
    expect(receivers.json.requests[0]!.headers['content-encoding']).toBeUndefined();
    expect(sequence(receivers.json.accepted).slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('splits batches a receiver refuses with 413', async () => {
    await waitFor(() => receivers.small.accepted.length >= 1530, 20_000, 'split export');
    expect(sequence(receivers.small.accepted)).toEqual(Array.from({ length: 1530 }, (_, i) => i + 1));
    expect(receivers.small.requests.some((r) => r.records.length > 40)).toBe(true); // refused ones
  });

  it('surfaces a 503 outage, lets the lag grow, and delivers everything once the receiver recovers', async () => {
    await waitFor(() => receivers.flaky.accepted.length >= 1530, 20_000, 'flaky caught up');
    state.down = true;
    await ingest(200, 'export.outage');
    await waitFor(() => status('flaky').state === 'retrying', 10_000, 'retrying state');
    expect(status('flaky').last_error).toMatchObject({ http_status: 503, message: expect.stringContaining('503') });
    const entry = sidecar.exports.get('flaky')!;
    expect((await sidecar.exports.status(entry)).lag_records).toBe(200);
    state.down = false;
    await waitFor(() => receivers.flaky.accepted.length >= 1730, 20_000, 'recovery');
    expect(sequence(receivers.flaky.accepted)).toEqual(Array.from({ length: 1730 }, (_, i) => i + 1));
    await waitFor(async () => (await sidecar.exports.status(entry)).lag_records === 0, 5_000, 'lag back to 0');
    expect(status('flaky').state).toBe('ok');
  });

  it('respects Retry-After', async () => {
    await waitFor(() => receivers.slow.accepted.length >= 1730, 20_000, 'slow caught up');
    state.retryAfterOnce = true;
    const before = receivers.slow.requests.length;
    await ingest(10, 'export.retry_after');
    await waitFor(() => receivers.slow.accepted.length >= 1740, 20_000, 'retry-after delivery');
    const [refused, retried] = receivers.slow.requests.slice(before) as unknown as [{ at: number }, { at: number }];
    expect(retried.at - refused.at).toBeGreaterThanOrEqual(1_900);
  });

  it('surfaces a 401 without losing anything, and delivers once the credentials match', async () => {
    await waitFor(() => status('auth').state === 'failing', 10_000, 'failing state');
    expect(status('auth').last_error).toMatchObject({ http_status: 401 });
    expect(receivers.auth.accepted).toHaveLength(0);
    state.requireKey = 'wrong';
    await waitFor(() => receivers.auth.accepted.length >= 1740, 20_000, 'auth recovery');
    expect(sequence(receivers.auth.accepted)).toEqual(Array.from({ length: 1740 }, (_, i) => i + 1));
  });

  it('never logs header values', () => {
    const text = logLines.join('');
    expect(text).toContain('"msg":"exporting"');
    expect(text).not.toContain('siem-secret-token');
    expect(text).toContain('"header_names":["Authorization"]');
  });

  it('goes on delivering from the ingest log while the store fails, in order, without reading the store', async () => {
    await ingest(20, 'export.gap');
    await waitFor(() => receivers.thousand.accepted.length >= sent, 20_000, 'caught up before the gap');
    const readsBefore = sidecar.exports.storeReads;
    const client = sidecar.store.readClient;
    await client.command({ query: 'DETACH TABLE audit.events' });
    try {
      const failed = await fetch(`${sidecar.ingestUrl}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: encodeProtobuf(otlpRequest([{ eventName: 'export.gap', attributes: { 'user.id': 'u', 'log.record.uid': 'gap-failed' } }])),
      });
      expect(failed.status).toBe(200); // acknowledged: it is in the ingest log
      await waitFor(() => receivers.thousand.accepted.some((r) => attr(r, 'log.record.uid') === 'gap-failed'), 10_000, 'export while the store is down');
    } finally {
      await client.command({ query: 'ATTACH TABLE audit.events' });
    }
    const firstAfter = sent + 1;
    await ingest(20, 'export.gap');
    await waitFor(() => receivers.thousand.accepted.length >= sent + 1, 20_000, 'delivery after the store is back');
    expect(sequence(receivers.thousand.accepted).slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => firstAfter + i));
    expect(sidecar.exports.storeReads).toBe(readsBefore);
  });

  it('loses nothing across a restart while the receiver is down', async () => {
    state.down = true;
    await ingest(50, 'export.restart');
    await waitFor(() => status('flaky').state === 'retrying', 10_000, 'retrying before restart');
    await sidecar.stop();
    sidecar = await startTestSidecar(options);
    await ingest(50, 'export.restart');
    state.down = false;
    const hasAll = () => {
      const got = new Set(sequence(receivers.flaky.accepted));
      for (let n = 1; n <= sent; n++) if (!got.has(n)) return false;
      return true;
    };
    await waitFor(hasAll, 20_000, 'delivery after restart');
    expect(sidecar.exports.storeReads).toBe(0); // the ingest log still held what was sent before the restart
    const delivered = new Set(sequence(receivers.flaky.accepted));
    for (let n = 1; n <= sent; n++) expect(delivered.has(n)).toBe(true);
  });

  it('replays a long history to a destination whose filter matches rarely, across a gap in the sequence', async () => {
    const rare: number[] = [];
    await ingest(1, 'export.rare');
    rare.push(sent);
    await ingest(6000, 'export.bulk', 1000);
    await ingest(1, 'export.rare');
    rare.push(sent);
    await ingest(6000, 'export.bulk', 1000);
    const [row] = await (await sidecar.store.readClient.query({ query: 'SELECT collector_id FROM audit.events LIMIT 1', format: 'JSONEachRow' })).json<{ collector_id: string }>();
    const lastCommitted = sidecar.store.committedSeq;
    await sidecar.stop();
    // What a crash leaves instead of a clean stop's record: the newest reservation, a block
    // above the last committed number, so the next start continues a million numbers higher.
    const store = testConfig(options).store;
    const client = openClient(store, 'export-test');
    try {
      await client.insert({ table: 'audit.ingest_sequence', values: [{ collector_id: row!.collector_id, reserved_through: lastCommitted + 1_000_000 }], format: 'JSONEachRow' });
    } finally {
      await closeClients([client], store.endpoint);
    }
    const sparse = { endpoint: receivers.sparse.url, max_batch_size: 1000, event_types: ['export.rare'], start_from: 'earliest' as const };
    sidecar = await startTestSidecar({ ...options, destinations: { ...options.destinations, sparse } });
    await ingest(1, 'export.rare');
    rare.push(sent);
    await waitFor(() => receivers.sparse.accepted.length >= 3, 20_000, 'the rare events');
    expect(sequence(receivers.sparse.accepted)).toEqual(rare);
    expect(sidecar.store.committedSeq).toBeGreaterThan(1_000_000);
    // At least once: the restart may resend the batch that was in flight.
    const delivered = () => [...new Set(sequence(receivers.thousand.accepted))];
    await waitFor(() => delivered().length >= sent, 20_000, 'everything, across the gap');
    expect(delivered().slice(-12_002)).toEqual(Array.from({ length: 12_002 }, (_, i) => sent - 12_001 + i));
  });
});
