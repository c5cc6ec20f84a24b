/**
 * `ack: stored` through a store outage: requests wait up to stored_timeout, then get 503
 * with Retry-After. Their events are in the ingest log and load once the store is back;
 * the client's retry of them (same log.record.uid) is stored once, so after OPTIMIZE a
 * count without FINAL equals the events sent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

let server: ClickHouseHttp | undefined;
let sidecar: Sidecar | undefined;

afterAll(async () => {
  await sidecar?.stop();
  await server?.stop();
});

function send(ids: string[]) {
  return fetch(`${sidecar!.ingestUrl}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeProtobuf(otlpRequest(ids.map((id) => ({ eventName: 'stored.load', timeUnixNano: '1790000000000000000', attributes: { 'user.id': 'u', 'log.record.uid': id } })))),
  });
}

describe('a store outage with ack: stored', () => {
  it('answers 503 + Retry-After after the deadline, loads the events later, and stores a retry once', async () => {
    server = await startClickHouseHttp({ dataDir: tempDir('audit-stored-ch-') });
    sidecar = await startTestSidecar({
      dataDir: tempDir('audit-stored-'),
      storeEndpoint: server.url,
      ingestLog: { ack: 'stored', stored_timeout: '1s' },
    });
    const before = await send(['s-0', 's-1']);
    expect(before.status).toBe(200);

    await server.kill();
    const failed: string[][] = [];
    for (let n = 0; n < 3; n++) {
      const ids = [`d-${n}-0`, `d-${n}-1`, `d-${n}-2`];
      const started = Date.now();
      const response = await send(ids);
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      failed.push(ids);
    }
    await server.start();
    // The client retries what it was refused until it is taken, as an OTLP exporter does
    // (the loader notices the store is back at its next backoff step, up to 10 s).
    for (const ids of failed) {
      let status = 0;
      for (let attempt = 0; attempt < 30 && status !== 200; attempt++) status = (await send(ids)).status;
      expect(status).toBe(200);
    }

    await sidecar.store.readable(30_000);
    await sidecar.store.readClient.command({ query: 'OPTIMIZE TABLE audit.events FINAL' });
    const [row] = await queryRows<{ n: string; ids: string }>(sidecar, "SELECT toString(count()) AS n, toString(uniqExact(event_id)) AS ids FROM audit.events WHERE event_type = 'stored.load'");
    expect(row).toEqual({ n: '11', ids: '11' });
  }, 120_000);
});
