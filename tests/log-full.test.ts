/**
 * The ingest log full: with the store down, ingest accepts until the log reaches
 * max_size, then answers 503 + Retry-After and keeps nothing of those requests; /readyz
 * says why. Once the store is back the loader drains the log and ingest accepts again.
 * Nothing acknowledged is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { waitFor } from './support/otlp-receiver.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

let server: ClickHouseHttp | undefined;
let sidecar: Sidecar | undefined;

afterAll(async () => {
  await sidecar?.stop();
  await server?.stop();
});

let n = 0;
function send() {
  const ids = Array.from({ length: 20 }, () => `full-${++n}`);
  const body = encodeProtobuf(otlpRequest(ids.map((id) => ({ eventName: 'full.load', body: 'b'.repeat(1000), attributes: { 'user.id': 'u', 'log.record.uid': id } }))));
  return fetch(`${sidecar!.ingestUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body }).then((response) => ({ response, ids }));
}

describe('the ingest log full', () => {
  it('answers 503 + Retry-After at max_size, keeps nothing of those requests, and accepts again once drained', async () => {
    server = await startClickHouseHttp({ dataDir: tempDir('audit-full-ch-') });
    sidecar = await startTestSidecar({
      dataDir: tempDir('audit-full-'),
      storeEndpoint: server.url,
      api: {},
      ingestLog: { max_size: '512KiB', segment_size: '64KiB' },
    });
    await server.kill();
    const acknowledged: string[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const { response, ids } = await send();
      if (response.status === 200) acknowledged.push(...ids);
      else refused = response;
    }
    expect(refused?.status).toBe(503);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused!.text()).toMatch(/ingest log is full/);
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(sidecar.store.log.sizeBytes).toBeLessThanOrEqual(512 * 1024);
    const ready = await fetch(`${sidecar.apiUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/ingest log is full/) });

    await server.start();
    await waitFor(() => sidecar!.store.committedSeq >= sidecar!.store.durableSeq, 30_000, 'the loader to drain the log');
    // Loaded segments are deleted just after the insert: ingest accepts again once they are.
    await waitFor(() => sidecar!.store.health().accepting, 10_000, 'room in the log again');
    const { response: again, ids } = await send();
    expect(again.status).toBe(200);
    acknowledged.push(...ids);
    expect((await fetch(`${sidecar.apiUrl}/readyz`)).status).toBe(200);
    const rows = await queryRows<{ event_id: string }>(sidecar, "SELECT event_id FROM audit.events WHERE event_type = 'full.load' ORDER BY ingest_seq");
    expect(rows.map((r) => r.event_id)).toEqual(acknowledged);
  }, 90_000);
});
