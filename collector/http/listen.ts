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

/** Takes an HTTP upgrade (WebSocket); false when the path is not one it serves. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Serves `fetch` (a Hono app's) on host:port; port 0 picks a free one. */
export async function listen(fetch: FetchHandler, host: string, port: number, upgrade?: UpgradeHandler): Promise<Listener> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, hostname: host, port }, () => resolve(s as Server));
    s.once('error', reject);
  });
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
