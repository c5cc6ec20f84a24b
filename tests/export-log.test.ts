/**
 * Destinations read the ingest log at positions of their own: one that is down for longer
 * than the log retains catches up from ClickHouse and then from the log, and one stopped
 * mid-log resumes from its position after a restart. Nothing lost, nothing out of order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { attr, startReceiver, waitFor, type TestReceiver } from './support/otlp-receiver.js';
import { startTestSidecar, tempDir, type TestConfigOptions } from './support/sidecar.js';
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.js';

let sidecar: Sidecar | undefined;
const receivers: TestReceiver[] = [];
const servers: ClickHouseHttp[] = [];
afterAll(async () => {
  await sidecar?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

/** The store for one run of the tests: embedded in the data directory, or a ClickHouse server (the test server). */
async function storeFor(kind: 'embedded' | 'server'): Promise<Partial<TestConfigOptions>> {
  if (kind === 'embedded') return {};
  const server = await startClickHouseHttp({ dataDir: tempDir('audit-export-log-ch-') });
  servers.push(server);
  return { storeEndpoint: server.url };
}

let sent = 0;
async function ingest(count: number, perRequest = 50): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += perRequest) {
    const batch = Array.from({ length: Math.min(perRequest, count - done) }, () => `x-${++sent}`);
    const body = encodeProtobuf(otlpRequest(batch.map((id) => ({ eventName: 'log.export', body: 'p'.repeat(600), attributes: { 'user.id': 'u', 'log.record.uid': id } }))));
    // A log that is full for a moment answers 503; the client retries, as OTLP exporters do.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${sidecar!.ingestUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body })).status;
    }
    expect(status).toBe(200);
    ids.push(...batch);
  }
  return ids;
}

const uids = (receiver: TestReceiver) => receiver.accepted.map((r) => attr(r, 'log.record.uid'));

describe.each(['embedded', 'server'] as const)('export from the ingest log (%s store)', (kind) => {
  it('a destination down for longer than the retained log catches up from ClickHouse, then from the log', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? { status: 200 } : { status: 503 }));
    receivers.push(receiver);
    await sidecar?.stop();
    const options: TestConfigOptions = {
      ...(await storeFor(kind)),
      dataDir: tempDir('audit-export-log-'),
      ingestLog: { max_size: '2MiB', segment_size: '128KiB' },
      destinations: { siem: { endpoint: receiver.url, max_batch_size: 500, retry: { initial_interval: '50ms', max_interval: '200ms' } } },
    };
    sidecar = await startTestSidecar(options);
    const ids = await ingest(5_000); // ~2.5 KB a record on disk: several times the log's size
    await waitFor(() => sidecar!.store.committedSeq >= sidecar!.store.durableSeq, 20_000, 'the loader');
    await waitFor(() => sidecar!.store.log.sizeBytes <= 2 * 1024 * 1024 && (sidecar!.store.log.first?.afterSeq ?? 0) > 0, 10_000, 'the log to trim past the destination');
    const logStart = sidecar.store.log.first!.afterSeq;
    expect(sidecar.exports.get('siem')!.worker.status.position).toBeLessThan(logStart);
    up = true;
    const more = await ingest(200);
    await waitFor(() => receiver.accepted.length >= ids.length + more.length, 30_000, 'the destination to catch up');
    expect(uids(receiver)).toEqual([...ids, ...more]);
    expect(sidecar.exports.storeReads).toBeGreaterThan(0); // the part the log no longer held
  });

  it('a destination stopped mid-log resumes from its position after a restart, reading the log', async () => {
    await sidecar?.stop();
    let accept = 1; // requests the receiver takes before it starts failing
    const receiver = await startReceiver(() => (accept-- > 0 ? { status: 200 } : { status: 503 }));
    receivers.push(receiver);
    const options: TestConfigOptions = {
      ...(await storeFor(kind)),
      dataDir: tempDir('audit-export-log-'),
      destinations: { mid: { endpoint: receiver.url, max_batch_size: 10, retry: { initial_interval: '50ms', max_interval: '100ms' } } },
    };
    sidecar = await startTestSidecar(options);
    const ids = await ingest(60, 60);
    await waitFor(() => receiver.requests.length >= 3, 10_000, 'a delivery and failures');
    expect(uids(receiver)).toEqual(ids.slice(0, 10));
    await sidecar.stop();

    accept = Number.MAX_SAFE_INTEGER;
    sidecar = await startTestSidecar(options);
    await waitFor(() => receiver.accepted.length >= 60, 10_000, 'the rest after the restart');
    expect(uids(receiver)).toEqual(ids);
    expect(sidecar.exports.storeReads).toBe(0); // all of it from the log
  });

  it.runIf(kind === 'server')('keeps a destination\'s position across a restart during a store outage (saved beside the log)', async () => {
    await sidecar?.stop();
    const receiver = await startReceiver();
    receivers.push(receiver);
    const store = await storeFor(kind);
    const server = servers[servers.length - 1]!;
    const options: TestConfigOptions = {
      ...store,
      dataDir: tempDir('audit-export-log-'),
      shutdownTimeout: '300ms',
      destinations: { outage: { endpoint: receiver.url, max_batch_size: 100, retry: { initial_interval: '50ms', max_interval: '100ms' } } },
    };
    sidecar = await startTestSidecar(options);
    await server.kill();
    const ids = await ingest(150, 50);
    await waitFor(() => receiver.accepted.length >= 150, 10_000, 'delivery from the log while the store is down');
    await sidecar.stop(); // ClickHouse cannot take the position now; the file beside the log can
    await server.start();
    sidecar = await startTestSidecar(options);
    const more = await ingest(20, 20);
    await waitFor(() => receiver.accepted.length >= 170, 10_000, 'the next events');
    await new Promise((r) => setTimeout(r, 300));
    expect(uids(receiver)).toEqual([...ids, ...more]); // nothing resent
  });
});
