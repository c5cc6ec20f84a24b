/**
 * The ingest listener (default 127.0.0.1:4318): OTLP/HTTP logs and health. Closing it
 * stops accepting connections and waits for requests in flight to be answered.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { SidecarConfig } from '../config/load.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { EventStore } from '../store/event-store.js';
import type { Logger } from '../log.js';
import { IngestStats } from './ingest-stats.js';
import { otlpLogsHandler } from './otlp/logs-handler.js';
import { auditJsonHandler } from './audit-json/handler.js';
import { ProfileRegistry } from '../../pipelines/json/registry.js';

const CLOSE_GRACE_MS = 10_000;

export interface IngestServer {
  readonly url: string;
  readonly stats: IngestStats;
  close(): Promise<void>;
}

export interface IngestServerDeps {
  config: SidecarConfig;
  store: EventStore;
  auth: TokenVerifier;
  log: Logger;
}

export function createIngestApp(deps: IngestServerDeps, stats: IngestStats) {
  const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.post(
    '/v1/logs',
    otlpLogsHandler({
      store: deps.store,
      auth: deps.auth,
      limits: deps.config.ingest,
      retention: deps.config.store.retention,
      stats,
      log: deps.log,
    }),
  );
  const auditJson = deps.config.auditJson;
  if (auditJson) {
    const handler = auditJsonHandler({
      store: deps.store,
      auth: deps.auth,
      profiles: new ProfileRegistry(auditJson.profiles),
      limits: { ...deps.config.ingest, ...auditJson },
      retention: deps.config.store.retention,
      stats,
      log: deps.log,
    });
    app.post('/v1/audit', handler);
    app.post('/v1/audit/:profile', handler);
  }
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    deps.log.error('unhandled error', { path: c.req.path, error: error.message });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

export async function startIngestServer(deps: IngestServerDeps): Promise<IngestServer> {
  const stats = new IngestStats();
  const app = createIngestApp(deps, stats);
  const { host, port } = deps.config.ingest;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s as Server));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  deps.log.info('ingest listening', { url });
  return {
    url,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        // Requests in flight are answered (their rows committed) before close resolves;
        // a client that holds a connection open longer than the grace period is cut off.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        // Keep-alive connections turn idle as their last response goes out; close them then.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
