/** A live-tail client that stops reading is disconnected instead of being buffered for. */
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar;

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    batch: { timeout: '10ms' },
    api: { stream: { heartbeat: '200ms', max_buffered_bytes: '64KiB', slow_client_timeout: '1s' } },
  });
});
afterAll(async () => {
  await sidecar?.stop();
});

describe('live tail backpressure', () => {
  it('disconnects a client that does not read', { timeout: 30_000 }, async () => {
    const url = new URL(`${sidecar.apiUrl}/api/v1/events/stream`);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(response.statusCode).toBe(200);
    response.pause(); // the client stops reading
    const message = 'x'.repeat(8_000);
    for (let batch = 0; batch < 4; batch++) {
      const records = Array.from({ length: 500 }, (_, i) => ({ event_type: 'slow.tail', actor: { id: `u${batch}-${i}` }, message }));
      const answer = await fetch(`${sidecar.ingestUrl}/v1/audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
      expect(answer.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 3_000)); // longer than slow_client_timeout
    // Reading again, the client gets what was already sent and then the end: a stream that
    // was still open would go on with heartbeats every 200 ms.
    const ended = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      response.on('data', () => undefined);
      response.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      response.on('error', () => undefined);
      response.resume();
    });
    expect(ended).toBe(true);
    expect((await fetch(`${sidecar.apiUrl}/api/v1/events?event_type=slow.tail&limit=1`)).status).toBe(200);
  });
});
