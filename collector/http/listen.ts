/**
 * Serving a Hono app with @hono/node-server. Closing stops accepting connections, lets
 * requests in flight be answered, and closes keep-alive connections as they turn idle.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

type FetchHandler = Parameters<typeof serve>[0]['fetch'];

const CLOSE_GRACE_MS = 10_000;

export interface Listener {
  readonly url: string;
  close(): Promise<void>;
}

/** What one listener lets a client hold: time for headers and for the whole request, connections. */
export interface ListenerLimits {
  /** A request's headers must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this; then 408 and close. */
  requestTimeoutMs: number;
  /** Connections open at once; further ones are closed on accept, the open ones are served. */
  maxConnections: number;
}

/** Takes an HTTP upgrade (WebSocket); false when the path is not one it serves. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Serves `fetch` (a Hono app's) on host:port; port 0 picks a free one. */
export async function listen(fetch: FetchHandler, host: string, port: number, limits: ListenerLimits, upgrade?: UpgradeHandler): Promise<Listener> {
  const server = await new Promise<Server>((resolve, reject) => {
    const serverOptions = {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs), // Node refuses a larger one
      requestTimeout: limits.requestTimeoutMs,
      // Node checks those timeouts on this interval (default 30 s: slow headers lived ~66 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    };
    const s = serve({ fetch, hostname: host, port, serverOptions }, () => resolve(s as Server));
    s.once('error', reject);
  });
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!upgrade?.(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        // A client that holds a connection open longer than the grace period is cut off.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}
