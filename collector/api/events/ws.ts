/**
 * GET /api/v1/events/ws: the live tail over WebSocket. Browsers cannot set headers on a
 * WebSocket, and a token in a URL ends up in logs and history, so the token comes in the
 * first message, `{"type":"auth","token":"…","after":N}`, or as the subprotocol
 * `audit-sidecar.bearer.<token>` offered together with `audit-sidecar` (the one answered). Filters are
 * the list's query parameters; `after` (in the URL or the auth message) resumes after an
 * ingest_seq. Messages: `{"type":"ready","after":N}`, then `{"type":"event","seq":N,"event":{…}}`;
 * `{"type":"error","error":"…"}` before a close.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal, TokenVerifier } from '../../auth/tokens.js';
import { HttpError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { EventStore } from '../../store/event-store.js';
import { parseFilter } from './filter.js';
import { toApiEvent } from './format.js';
import type { EventQueries } from './queries.js';
import { startTail, type StreamOptions } from './tail.js';

export const WS_PATH = '/api/v1/events/ws';
const PROTOCOL = 'audit-sidecar';
const BEARER_PROTOCOL = 'audit-sidecar.bearer.';
const AUTH_TIMEOUT_MS = 10_000;
/** Close codes: 1008 policy (auth, bad request), 1013 try again later (slow client). */
const POLICY = 1008;
const SLOW = 1013;

export interface EventSocketDeps {
  queries: EventQueries;
  store: EventStore;
  auth: TokenVerifier;
  collectorId: string;
  stream: StreamOptions;
  log: Logger;
}

const SEQ = /^\d{1,19}$/;

export class EventSockets {
  private readonly server = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024,
    // Only `audit-sidecar` is ever answered: echoing the bearer protocol would send the token back.
    handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false),
  });

  constructor(private readonly deps: EventSocketDeps) {}

  /** The HTTP server's 'upgrade' handler: true when the request was for this endpoint. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return false;
    this.server.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, url.searchParams));
    return true;
  }

  private accept(ws: WebSocket, request: IncomingMessage, params: URLSearchParams): void {
    const fail = (code: number, message: string) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', error: message }));
      ws.close(code, message.slice(0, 120));
    };
    const authenticate = (token: string | undefined): Principal | undefined => {
      try {
        return this.deps.auth.authenticate(token === undefined ? undefined : `Bearer ${token}`, 'read');
      } catch (error) {
        fail(POLICY, error instanceof HttpError ? error.message : 'not authorized');
        return undefined;
      }
    };
    const begin = (principal: Principal, after: unknown) => {
      try {
        const filter = parseFilter(params, principal);
        const resume = after ?? params.get('after');
        if (resume !== null && resume !== undefined && resume !== '' && !SEQ.test(String(resume))) throw new HttpError(400, 'after must be an ingest_seq');
        this.run(ws, filter, resume ? Number(resume) : this.deps.store.committedSeq);
      } catch (error) {
        fail(POLICY, error instanceof HttpError ? error.message : 'bad request');
      }
    };

    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL))?.slice(BEARER_PROTOCOL.length);
    if (bearer !== undefined || !this.deps.auth.enabled) {
      const principal = authenticate(bearer);
      if (principal) begin(principal, undefined);
      return;
    }
    const timer = setTimeout(() => fail(POLICY, 'send {"type":"auth","token":…} first'), AUTH_TIMEOUT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      let message: { type?: unknown; token?: unknown; after?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return fail(POLICY, 'the first message must be {"type":"auth","token":…}');
      }
      if (message?.type !== 'auth' || typeof message.token !== 'string') return fail(POLICY, 'the first message must be {"type":"auth","token":…}');
      const principal = authenticate(message.token);
      if (principal) begin(principal, message.after);
    });
    ws.once('close', () => clearTimeout(timer));
  }

  private run(ws: WebSocket, filter: ReturnType<typeof parseFilter>, after: number): void {
    const { stream } = this.deps;
    ws.send(JSON.stringify({ type: 'ready', after }));
    const tail = startTail(this.deps.queries, this.deps.store, this.deps.collectorId, filter, after, stream, {
      ready: () => ws.readyState === ws.OPEN && ws.bufferedAmount < stream.maxBufferedBytes,
      send: (row) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'event', seq: Number(row.ingest_seq), event: toApiEvent(row) }));
      },
      heartbeat: () => {
        if (ws.readyState === ws.OPEN) ws.ping();
      },
      drop: () => {
        this.deps.log.info('live tail client dropped: not reading', { buffered_bytes: ws.bufferedAmount });
        // The close frame would wait behind what the client is not reading: cut the connection.
        ws.close(SLOW, 'slow client');
        ws.terminate();
      },
    });
    ws.on('close', () => tail.close());
    ws.on('message', () => undefined); // later messages are ignored
    tail.done.catch((error: Error) => {
      this.deps.log.warn('live tail failed', { error: error.message });
      ws.close(1011, 'internal error');
    });
  }

  /** Closes every socket (shutdown). */
  close(): void {
    for (const client of this.server.clients) client.close(1001, 'shutting down');
    this.server.close();
  }
}
