/**
 * A 30 s ClickHouse outage under load with `ack: durable`: clients see no error, the
 * events wait in the ingest log, and once the server is back the backlog drains, in
 * ingest_seq order. The server is the ClickHouse-HTTP test server (the server path of the
 * store), killed and restarted on the same port.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { waitFor } from './support/otlp-receiver.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

const OUTAGE_MS = 30_000;
let server: ClickHouseHttp | undefined;
let sidecar: Sidecar | undefined;

afterAll(async () => {
  await sidecar?.stop();
  await server?.stop();
});

describe('a store outage under load (ack: durable)', () => {
  it('answers every request, then stores every event in order once the store is back', async () => {
    server = await startClickHouseHttp({ dataDir: tempDir('audit-outage-ch-') });
    sidecar = await startTestSidecar({ dataDir: tempDir('audit-outage-'), storeEndpoint: server.url, batch: { send_batch_size: 5000, timeout: '200ms' } });
    const url = `${sidecar.ingestUrl}/v1/logs`;
    const statuses = new Map<number, number>();
    const sent: string[][] = [[], []];
    let stopped = false;
    // Two clients, each sending its own numbered events one request after another.
    const clients = [0, 1].map(async (client) => {
      for (let n = 0; !stopped; n++) {
        const ids = Array.from({ length: 20 }, (_, i) => `c${client}-${n}-${i}`);
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: encodeProtobuf(otlpRequest(ids.map((id) => ({ eventName: 'outage.load', attributes: { 'user.id': 'u', 'log.record.uid': id } })))),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) sent[client]!.push(...ids);
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await server.kill();
    const downAt = Date.now();
    await waitFor(() => sidecar!.store.loader.status.state === 'retrying', 10_000, 'the loader to see the outage');
    const acknowledgedAtKill = sent[0]!.length + sent[1]!.length;
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
    const acknowledgedDuringOutage = sent[0]!.length + sent[1]!.length - acknowledgedAtKill;
    expect(sidecar.store.health()).toMatchObject({ accepting: true, storeDegraded: true });
    await server.start();
    await new Promise((r) => setTimeout(r, 1_000));
    stopped = true;
    await Promise.all(clients);

    expect([...statuses.keys()]).toEqual([200]); // not one error for the clients
    expect(acknowledgedDuringOutage).toBeGreaterThan(1_000);
    await waitFor(() => sidecar!.store.committedSeq >= sidecar!.store.durableSeq, 60_000, 'the backlog to drain');
    const rows = await queryRows<{ event_id: string }>(sidecar, "SELECT event_id FROM audit.events WHERE event_type = 'outage.load' ORDER BY ingest_seq");
    expect(rows.length).toBe(sent[0]!.length + sent[1]!.length);
    // Each client's events were numbered in the order it sent them.
    for (const client of [0, 1]) {
      expect(rows.filter((r) => r.event_id.startsWith(`c${client}-`)).map((r) => r.event_id)).toEqual(sent[client]);
    }
    expect(sidecar.store.health()).toMatchObject({ accepting: true, storeDegraded: false });
  }, 120_000);
});
