/** GET /api/v1/events/ws: delivery, filters, resume, tenant isolation, auth without the URL, a slow client dropped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Sidecar } from '../collector/sidecar.js';
import { startTestSidecar, tempDir, ingestCanonical } from './support/sidecar.js';

const READER = 'reader-token-00000000000000';
const ACME = 'acme-reader-token-000000000';
const INGEST = 'ingest-token-000000000000000';
let sidecar: Sidecar;

type Message = { type: string; seq?: number; after?: number; error?: string; event?: { event_id: string; tenant_id: string } };

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    batch: { timeout: '10ms' },
    api: { stream: { heartbeat: '200ms', max_buffered_bytes: '64KiB', slow_client_timeout: '1s' } },
    tokens: [
      { token: READER, scopes: ['read'] },
      { token: ACME, tenant: 'acme', scopes: ['read'] },
      { token: INGEST, scopes: ['ingest'] },
    ],
  });
});
afterAll(async () => {
  await sidecar?.stop();
});

async function ingest(records: Array<Record<string, unknown>>) {
  await ingestCanonical(sidecar, INGEST, records);
}

/** Opens a socket and collects its messages; `auth` is sent as the first message unless a subprotocol carries the token. */
function connect(query: string, auth?: Record<string, unknown>, protocols?: string[]) {
  const ws = new WebSocket(`${sidecar.apiUrl!.replace('http', 'ws')}/api/v1/events/ws${query}`, protocols);
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as Message);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      if (auth) ws.send(JSON.stringify(auth));
      resolve();
    });
    ws.on('error', reject);
  });
  const until = async (predicate: (m: Message[]) => boolean, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!predicate(messages)) {
      if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(messages)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return messages;
  };
  return { ws, messages, closed, opened, until };
}

const events = (m: Message[]) => m.filter((x) => x.type === 'event');

describe('live tail over WebSocket', () => {
  it('delivers new events matching the filters, in the caller\'s tenant only, and resumes after an ingest_seq', async () => {
    const client = connect('?event_type=ws.event', { type: 'auth', token: ACME });
    await client.opened;
    await client.until((m) => m.some((x) => x.type === 'ready'));
    await ingest([
      { id: 'ws-1', event_type: 'ws.event', actor: { id: 'u' }, tenant_id: 'acme' },
      { id: 'ws-globex', event_type: 'ws.event', actor: { id: 'u' }, tenant_id: 'globex' },
      { id: 'ws-other', event_type: 'other.event', actor: { id: 'u' }, tenant_id: 'acme' },
    ]);
    await ingest([{ id: 'ws-2', event_type: 'ws.event', actor: { id: 'u' }, tenant_id: 'acme' }]);
    await ingest([{ id: 'ws-3', event_type: 'ws.event', actor: { id: 'u' }, tenant_id: 'acme' }]);
    const got = events(await client.until((m) => events(m).length >= 3));
    expect(got.map((m) => m.event!.event_id)).toEqual(['ws-1', 'ws-2', 'ws-3']);
    expect(got.every((m) => typeof m.seq === 'number')).toBe(true);
    client.ws.close();

    // Resumed after the first one's ingest_seq, given in the URL.
    const resumed = connect(`?event_type=ws.event&after=${got[0]!.seq}`, { type: 'auth', token: ACME });
    const again = events(await resumed.until((m) => events(m).length >= 2));
    expect(again.map((m) => m.event!.event_id)).toEqual(['ws-2', 'ws-3']);
    resumed.ws.close();

    // An unbound reader sees every tenant; the token travels as a subprotocol.
    const all = connect(`?event_type=ws.event&after=${got[0]!.seq! - 1}`, undefined, ['audit-sidecar', `audit-sidecar.bearer.${READER}`]);
    await all.opened;
    expect(all.ws.protocol).toBe('audit-sidecar');
    const every = events(await all.until((m) => events(m).length >= 4));
    expect(every.map((m) => m.event!.event_id).sort()).toEqual(['ws-1', 'ws-2', 'ws-3', 'ws-globex']);
    all.ws.close();
  });

  it('refuses a missing or unknown token, and never reads one from the URL', async () => {
    const unknown = connect('', { type: 'auth', token: 'not-a-token-at-all-000000' });
    expect((await unknown.closed).code).toBe(1008);
    expect(unknown.messages[0]).toMatchObject({ type: 'error' });
    const inUrl = connect(`?token=${ACME}&access_token=${ACME}`, { type: 'hello' });
    expect((await inUrl.closed).code).toBe(1008);
    expect(inUrl.messages.some((m) => m.type === 'ready')).toBe(false);
    const badAfter = connect('?after=abc', { type: 'auth', token: ACME });
    expect((await badAfter.closed).code).toBe(1008);
  });

  it('drops a client that stops reading', { timeout: 30_000 }, async () => {
    const client = connect('?event_type=ws.slow', { type: 'auth', token: READER });
    await client.until((m) => m.some((x) => x.type === 'ready'));
    client.ws.pause(); // stops reading from the socket
    const message = 'x'.repeat(8_000);
    for (let batch = 0; batch < 4; batch++) {
      await ingest(Array.from({ length: 500 }, (_, i) => ({ event_type: 'ws.slow', actor: { id: `u${batch}-${i}` }, message })));
    }
    await new Promise((r) => setTimeout(r, 3_000));
    client.ws.resume();
    const { code } = await Promise.race([client.closed, new Promise<{ code: number }>((r) => setTimeout(() => r({ code: -1 }), 10_000))]);
    expect(code).not.toBe(-1); // the server ended the connection
    expect(events(client.messages).length).toBeLessThan(2000);
  });
});
