/**
 * Both listeners bound what a client can hold: headers within read_header_timeout, the
 * whole request within request_timeout, and max_connections open at once (more are
 * closed on accept while the open ones are served). Raw sockets play the slow clients.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar;
const limits = { read_header_timeout: '1s', request_timeout: '1500ms', max_connections: 4 };

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir: tempDir(), http: limits, api: limits });
});
afterAll(async () => {
  await sidecar?.stop();
});

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent and when it closed the socket (ms after `since`); gives up (Infinity) after 5 s. */
function closed(socket: Socket, since: number): Promise<{ data: string; afterMs: number }> {
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => {
      resolve({ data, afterMs: Infinity });
      socket.destroy();
    }, 5_000);
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve({ data, afterMs: performance.now() - since });
    });
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function dribble(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

/** One complete request on a fresh connection, as a served client. */
async function healthz(url: string): Promise<string> {
  const socket = await open(url);
  const done = closed(socket, performance.now());
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return (await done).data;
}

const listeners = () => [
  ['ingest', sidecar.ingestUrl, 'POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'],
  ['api', sidecar.apiUrl!, 'POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'],
] as const;

describe.each(['ingest', 'api'] as const)('the %s listener', (name) => {
  const listener = () => listeners().find(([n]) => n === name)!;

  it('closes a connection over max_connections on accept, and serves the open ones', async () => {
    const [, url] = listener();
    const held = await Promise.all([1, 2, 3, 4].map(() => open(url)));
    const since = performance.now();
    const extra = await open(url);
    const refused = await closed(extra, since);
    expect(refused.data).toBe('');
    expect(refused.afterMs).toBeLessThan(900);
    const first = held[0]!;
    const answer = closed(first, since);
    first.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect((await answer).data).toMatch(/^HTTP\/1\.1 200/);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('closes slow headers at read_header_timeout while serving others', async () => {
    const [, url, head] = listener();
    const socket = await open(url);
    const since = performance.now();
    const result = closed(socket, since);
    dribble(socket, `${head}X-Slow: ${'a'.repeat(100)}\r\n\r\n`, 100);
    expect(await healthz(url)).toMatch(/^HTTP\/1\.1 200/);
    const { afterMs } = await result;
    expect(afterMs).toBeGreaterThan(900);
    expect(afterMs).toBeLessThan(2500);
  });

  it('closes a slow body at request_timeout while serving others', async () => {
    const [, url, head] = listener();
    const socket = await open(url);
    const since = performance.now();
    const result = closed(socket, since);
    socket.write(`${head}Content-Length: 1000\r\n\r\n{"`);
    dribble(socket, 'x'.repeat(998), 100);
    expect(await healthz(url)).toMatch(/^HTTP\/1\.1 200/);
    const { data, afterMs } = await result;
    expect(data).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeGreaterThan(1300);
    expect(afterMs).toBeLessThan(3000);
  });
});
