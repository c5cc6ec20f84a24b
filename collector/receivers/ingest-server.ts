/**
 * The ingest listener (default 127.0.0.1:4318): OTLP/HTTP logs and health. Closing it
 * stops accepting connections and waits for requests in flight to be answered.
 */
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import { listen } from '../http/listen.js';
import type { SidecarConfig } from '../config/load.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { EventStore } from '../store/event-store.js';
import type { Logger } from '../log.js';
import { IngestStats } from './ingest-stats.js';
import type { Metrics } from '../telemetry/metrics.js';
import { otlpLogsHandler } from './otlp/logs-handler.js';
import { auditJsonHandler } from './audit-json/handler.js';
import { ProfileRegistry } from '../../pipelines/json/registry.js';
import { methodNotAllowed, notFound } from '../errors.js';
import { errorResponse } from '../http/error-response.js';

export interface IngestServer {
  readonly url: string;
  readonly stats: IngestStats;
  close(): Promise<void>;
}

export interface IngestServerDeps {
  config: SidecarConfig;
  metrics: Metrics;
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
      limits: {
        maxBodyBytes: deps.config.ingest.maxBodyBytes,
        maxDecompressedBytes: deps.config.ingest.maxDecompressedBytes,
        requestTimeoutMs: deps.config.ingest.requestTimeoutMs,
        maxRecordsPerRequest: auditJson.maxRecordsPerRequest,
        maxDepth: auditJson.maxDepth,
        maxStringLength: auditJson.maxStringLength,
      },
      retention: deps.config.store.retention,
      stats,
      log: deps.log,
    });
    app.post('/v1/audit', handler);
    app.post('/v1/audit/:profile', handler);
  }
  // Every other method on an ingest path: 405 naming the one that works.
  app.all('/v1/logs', (c) => {
    throw methodNotAllowed(c.req.method, c.req.path, ['POST']);
  });
  if (auditJson) {
    app.all('/v1/audit/:profile?', (c) => {
      throw methodNotAllowed(c.req.method, c.req.path, ['POST']);
    });
  }
  app.notFound((c) => errorResponse(notFound(`no route for ${c.req.method} ${c.req.path}`)).response);
  app.onError((error, c) => {
    const { response, httpError } = errorResponse(error);
    if (httpError.reason === 'internal') deps.log.error('unhandled error', { path: c.req.path, error: error.message });
    return response;
  });
  return app;
}

export async function startIngestServer(deps: IngestServerDeps): Promise<IngestServer> {
  const stats = new IngestStats(deps.metrics);
  const ingest = deps.config.ingest;
  const listener = await listen(createIngestApp(deps, stats).fetch, ingest.host, ingest.port, {
    headersTimeoutMs: ingest.headersTimeoutMs,
    // The handler answers 408 itself at request_timeout; the server's cut-off is the backstop.
    requestTimeoutMs: ingest.requestTimeoutMs + 5_000,
    maxConnections: ingest.maxConnections,
  });
  deps.log.info('ingest listening', { url: listener.url });
  return { url: listener.url, stats, close: listener.close };
}
