/**
 * The query/admin API listener (default 127.0.0.1:4319): health, readiness, metrics, the
 * events (pages, export, live tail), analysts' SQL, and the destinations admin. Each kind
 * of reader has its own ClickHouse connection, so none can stall ingest or another.
 * Errors become responses in one place (onError).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import type { Scope, TokenVerifier } from '../auth/tokens.js';
import type { SidecarConfig } from '../config/load.js';
import { forbidden, methodNotAllowed, notFound } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import { DestinationConflictError, DestinationInvalidError, type ExportService } from '../export/export-service.js';
import { listen, type Listener } from '../http/listen.js';
import type { Logger } from '../log.js';
import type { EventStore } from '../store/event-store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { destinationRoutes } from './destinations.js';
import { eventRoutes } from './events/routes.js';
import { EventQueries } from './events/queries.js';
import { queryRoute } from './query-route.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import { ANALYST_TABLES } from '../store/analyst-sql.js';
import { SqlRunner } from './sql-runner.js';
import type { ApiEnv } from './env.js';
import { ExportJobs } from './exports/export-jobs.js';
import { exportJobRoutes } from './exports/routes.js';
import { EventSockets } from './events/ws.js';
import { consoleRoutes } from './console.js';
import { integrityRoutes, proofRoute } from './integrity.js';
import { retentionPolicy } from '../store/retention.js';
import { selfTrail } from './self-trail.js';

export interface ApiDeps {
  config: SidecarConfig;
  store: EventStore;
  exports: ExportService;
  auth: TokenVerifier;
  metrics: Metrics;
  log: Logger;
}

/** `unboundOnly`: why a tenant-bound token is refused (what the route shows spans tenants). */
function requireScope(auth: TokenVerifier, scope: Scope, unboundOnly?: string): MiddlewareHandler<ApiEnv> {
  return async function authorize(c, next) {
    const principal = auth.authenticate(c.req.header('authorization'), scope);
    if (unboundOnly && principal.tenant !== undefined) throw forbidden(unboundOnly);
    c.set('principal', principal);
    await next();
  };
}

/** A request path with its ids replaced, so metric labels stay few. */
export function routeLabel(path: string): string {
  return path
    .replace(/^\/api\/v1\/events\/(?!export$|stream$|histogram$|ws$)[^/]+$/, '/api/v1/events/:id')
    .replace(/^\/api\/v1\/destinations\/[^/]+/, '/api/v1/destinations/:id')
    .replace(/^\/api\/v1\/exports\/[^/]+/, '/api/v1/exports/:id')
    .replace(/^\/console\/.*/, '/console')
    .replace(/^(?!\/api\/v1\/(events|destinations|query|exports)|\/healthz$|\/readyz$|\/metrics$|\/console$|\/$).*/, 'other');
}

export interface ApiClients {
  /** Pages, events, exports and the live tail. */
  queries: EventQueries;
  /** Analysts' SQL, read-only. */
  sql: SqlRunner;
  /** Background export jobs, on a connection of their own. */
  jobs: ExportJobs;
  /** Verification and proofs: long scans kept off the readers' connection. */
  integrity: ClickHouseClient;
}

export function createApiApp(deps: ApiDeps, clients: ApiClients) {
  const api = deps.config.api!;
  const app = new Hono<ApiEnv>();
  app.use('*', async function timeRequests(c, next) {
    const started = performance.now();
    await next();
    deps.metrics.apiRequestSeconds.observe(
      { method: c.req.method, route: routeLabel(c.req.path), status: String(c.res.status) },
      (performance.now() - started) / 1000,
    );
  });
  // Before every /api/v1 route, so routes added later are recorded too.
  if (api.recordAccess) app.use('/api/v1/*', selfTrail(deps.store, deps.config.store.retention, deps.log));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    // Ready means ingest accepts: a store that is down only delays loading (events wait in the log).
    const health = deps.store.health();
    if (!health.accepting) return c.json({ status: 'not ready', reason: health.reason }, 503);
    const reachable = await deps.store.ping().catch(() => false);
    if (health.storeDegraded || !reachable) {
      return c.json({ status: 'ready, store degraded', reason: health.reason ?? 'the store does not answer', records_to_load: deps.store.pendingRows }, 200);
    }
    return c.json({ status: 'ready' }, 200);
  });
  // Metrics count every tenant's records and name every destination.
  app.get('/metrics', requireScope(deps.auth, 'read', 'metrics are read with a token not bound to a tenant'), async (c) =>
    c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }),
  );
  const destinationsAdmin = 'destinations are managed with a token not bound to a tenant';
  app.use('/api/v1/destinations/*', requireScope(deps.auth, 'admin', destinationsAdmin));
  app.use('/api/v1/destinations', requireScope(deps.auth, 'admin', destinationsAdmin));
  app.route('/api/v1/destinations', destinationRoutes(deps.exports));
  app.use('/api/v1/events/*', requireScope(deps.auth, 'read'));
  app.use('/api/v1/events', requireScope(deps.auth, 'read'));
  // A read sees every event acknowledged before it began: it waits for the loader (which
  // then loads at once) up to the query timeout. The live tail follows the loader itself.
  const seeAcknowledged = async (c: { req: { path: string } }, next: () => Promise<void>) => {
    if (!c.req.path.endsWith('/stream') && !c.req.path.endsWith('/ws')) await deps.store.readable(api.queryTimeoutMs);
    await next();
  };
  app.use('/api/v1/events/*', seeAcknowledged);
  app.use('/api/v1/events', seeAcknowledged);
  app.use('/api/v1/query', seeAcknowledged);
  app.use('/api/v1/exports', seeAcknowledged); // a job made now covers what was acknowledged before
  const integrity = { client: clients.integrity, database: deps.config.store.database, collectorId: deps.config.collectorId };
  app.route('/api/v1/events', proofRoute(integrity));
  app.route(
    '/api/v1/events',
    eventRoutes(clients.queries, deps.store, {
      collectorId: deps.config.collectorId,
      maxExportDays: api.maxExportDays,
      stream: api.stream,
    }),
  );
  app.use('/api/v1/exports/*', requireScope(deps.auth, 'read'));
  app.use('/api/v1/exports', requireScope(deps.auth, 'read'));
  app.route('/api/v1/exports', exportJobRoutes(clients.jobs, api.exports));
  app.use('/api/v1/query', requireScope(deps.auth, 'admin'));
  app.route(
    '/api/v1/query',
    queryRoute(clients.sql),
  );
  app.all('/api/v1/query', (c) => {
    throw methodNotAllowed(c.req.method, c.req.path, ['POST']);
  });
  app.notFound((c) => errorResponse(notFound(`no route for ${c.req.method} ${c.req.path}`)).response);
  app.get('/api/v1/retention', requireScope(deps.auth, 'read'), (c) => c.json(retentionPolicy(deps.config.store.retention)));
  app.use('/api/v1/integrity/keys', requireScope(deps.auth, 'read'));
  app.use('/api/v1/integrity/verify', requireScope(deps.auth, 'admin'), seeAcknowledged);
  app.route('/api/v1/integrity', integrityRoutes(deps.store, integrity));
  app.route('/', consoleRoutes());
  app.notFound((c) => errorResponse(notFound(`no route for ${c.req.method} ${c.req.path}`)).response);
  app.onError((error, c) => {
    if (error instanceof DestinationInvalidError) return c.json({ error: 'invalid destination', reason: 'invalid_request', problems: error.problems }, 400);
    if (error instanceof DestinationConflictError) return c.json({ error: error.message, reason: 'conflict' }, 409);
    const { response, httpError } = errorResponse(error);
    if (httpError.reason === 'internal') deps.log.error('api request failed', { path: c.req.path, error: error.message });
    return response;
  });
  return app;
}

/** The ingest log and the loader, read at scrape time. */
function registerIngestLogMetrics(metrics: ApiDeps['metrics'], store: EventStore): void {
  metrics.gauge('audit_sidecar_ingest_log_bytes', 'Size of the ingest log on disk.', [], (set) => set({}, store.log.sizeBytes));
  metrics.gauge('audit_sidecar_ingest_log_max_bytes', 'The ingest log\'s max_size: full, ingest answers 503.', [], (set) => set({}, store.log.maxBytes));
  metrics.gauge('audit_sidecar_loader_lag_records', 'Records in the ingest log not yet loaded into ClickHouse.', [], (set) => set({}, store.durableSeq - store.committedSeq));
  metrics.gauge('audit_sidecar_loader_lag_bytes', 'Bytes of ingest-log frames not yet loaded into ClickHouse.', [], (set) =>
    set({}, store.log.framesAfter(store.committedSeq).reduce((n, f) => n + f.length, 0)),
  );
  metrics.gauge('audit_sidecar_loader_failing', '1 while the loader\'s inserts fail (the store is degraded or down).', [], (set) =>
    set({}, store.loader.status.state === 'ok' ? 0 : 1),
  );
  metrics.gauge('audit_sidecar_loader_last_error_timestamp_seconds', 'When the loader\'s last insert failed (0: it has not failed since start or the last success).', [], (set) =>
    set({}, store.loader.status.last_error ? Date.parse(store.loader.status.last_error.at) / 1000 : 0),
  );
}

/** Registers the export figures as metrics read at scrape time. */
function registerExportMetrics(deps: ApiDeps): void {
  const each = async (read: (entry: ReturnType<ExportService['list']>[number], status: Awaited<ReturnType<ExportService['status']>>) => void) => {
    for (const entry of deps.exports.list()) read(entry, await deps.exports.status(entry));
  };
  deps.metrics.gauge('audit_sidecar_export_records', 'Records a destination acknowledged since start.', ['destination'], (set) =>
    each((e, s) => set({ destination: e.destination.id }, s.exported_records)),
  );
  deps.metrics.gauge('audit_sidecar_export_lag_records', 'Records waiting to be exported to a destination.', ['destination'], (set) =>
    each((e, s) => set({ destination: e.destination.id }, s.lag_records)),
  );
  deps.metrics.gauge('audit_sidecar_export_state', 'A destination\'s state (1 for the current one).', ['destination', 'state'], (set) =>
    each((e, s) => {
      for (const state of ['ok', 'retrying', 'failing', 'disabled']) set({ destination: e.destination.id, state }, s.state === state ? 1 : 0);
    }),
  );
  deps.metrics.gauge('audit_sidecar_export_last_success_timestamp_seconds', 'When a destination last acknowledged a batch.', ['destination'], (set) =>
    each((e, s) => set({ destination: e.destination.id }, s.last_success_at ? Date.parse(s.last_success_at) / 1000 : 0)),
  );
  deps.metrics.gauge('audit_sidecar_export_last_error_http_status', 'HTTP status of a destination\'s last error (0: none or network).', ['destination'], (set) =>
    each((e, s) => set({ destination: e.destination.id }, s.last_error?.http_status ?? 0)),
  );
  deps.metrics.gauge('audit_sidecar_export_store_reads', 'Reads of the store made for export since start (destinations that keep up are fed from the commits).', [], (set) =>
    set({}, deps.exports.storeReads),
  );
  deps.metrics.gauge('audit_sidecar_store_pending_rows', 'Rows acknowledged and not yet loaded into ClickHouse (the loader\'s lag).', [], (set) => set({}, deps.store.pendingRows));
  registerIngestLogMetrics(deps.metrics, deps.store);
}

export async function startApiServer(deps: ApiDeps): Promise<Listener> {
  const api = deps.config.api!;
  const readClient = openClient(deps.config.store, 'audit-sidecar-api');
  const sql = new SqlRunner(
    (role) => openClient(deps.config.store, `audit-sidecar-sql-${role}`),
    { database: deps.config.store.database, tables: ANALYST_TABLES },
    { maxExecutionSeconds: Math.ceil(api.sql.timeoutMs / 1000), maxResultRows: api.sql.maxResultRows, maxMemoryBytes: api.sql.maxMemoryBytes },
  );
  const jobClient = openClient(deps.config.store, 'audit-sidecar-export-jobs');
  const integrityClient = openClient(deps.config.store, 'audit-sidecar-integrity');
  const opened = () => [readClient, jobClient, integrityClient, ...sql.connections];
  const timeLimit = Math.ceil(api.queryTimeoutMs / 1000);
  let jobs: ExportJobs | undefined;
  let sockets: EventSockets | undefined;
  let listener: Listener;
  try {
    jobs = await ExportJobs.start(new EventQueries(jobClient, deps.config.store.database, timeLimit), api.exports, deps.log);
    const clients = { queries: new EventQueries(readClient, deps.config.store.database, timeLimit), sql, jobs, integrity: integrityClient };
    registerExportMetrics(deps);
    sockets = new EventSockets({ queries: clients.queries, store: deps.store, auth: deps.auth, collectorId: deps.config.collectorId, stream: api.stream, log: deps.log });
    const upgrade = sockets.handleUpgrade.bind(sockets);
    const limits = { headersTimeoutMs: api.headersTimeoutMs, requestTimeoutMs: api.requestTimeoutMs, maxConnections: api.maxConnections };
    listener = await listen(createApiApp(deps, clients).fetch, api.host, api.port, limits, upgrade);
  } catch (error) {
    await jobs?.stop();
    await closeClients(opened(), deps.config.store.endpoint);
    throw error;
  }
  deps.log.info('api listening', { url: listener.url });
  return {
    url: listener.url,
    close: async () => {
      sockets!.close();
      await listener.close();
      await jobs!.stop();
      await closeClients(opened(), deps.config.store.endpoint);
    },
  };
}
