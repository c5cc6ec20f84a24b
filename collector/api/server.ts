/**
 * The query/admin API listener (default 127.0.0.1:4319): health, readiness, metrics, the
 * events (pages, export, live tail), analysts' SQL, and the destinations admin. Each kind
 * of reader has its own ClickHouse connection, so none can stall ingest or another.
 * Errors become responses in one place (onError).
 */
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import type { Scope, TokenVerifier } from '../auth/tokens.js';
import type { SidecarConfig } from '../config/load.js';
import { HttpError, forbidden } from '../errors.js';
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
    .replace(/^\/api\/v1\/events\/(?!export$|stream$)[^/]+$/, '/api/v1/events/:id')
    .replace(/^\/api\/v1\/destinations\/[^/]+/, '/api/v1/destinations/:id')
    .replace(/^(?!\/api\/v1\/(events|destinations|query)|\/healthz$|\/readyz$|\/metrics$).*/, 'other');
}

export interface ApiClients {
  /** Pages, events, exports and the live tail. */
  queries: EventQueries;
  /** Analysts' SQL, read-only. */
  sql: SqlRunner;
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
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await deps.store.ping().catch(() => false);
    return c.json({ status: ready ? 'ready' : 'store unreachable' }, ready ? 200 : 503);
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
  app.route(
    '/api/v1/events',
    eventRoutes(clients.queries, deps.store, {
      collectorId: deps.config.collectorId,
      maxExportDays: api.maxExportDays,
      stream: api.stream,
    }),
  );
  app.use('/api/v1/query', requireScope(deps.auth, 'admin'));
  app.route(
    '/api/v1/query',
    queryRoute(clients.sql),
  );
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      if (error.retryAfterSeconds !== undefined) c.header('retry-after', String(error.retryAfterSeconds));
      return c.json({ error: error.message }, error.status);
    }
    if (error instanceof DestinationInvalidError) return c.json({ error: 'invalid destination', problems: error.problems }, 400);
    if (error instanceof DestinationConflictError) return c.json({ error: error.message }, 409);
    deps.log.error('api request failed', { path: c.req.path, error: error.message });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
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
  deps.metrics.gauge('audit_sidecar_store_pending_rows', 'Rows accepted and not yet committed.', [], (set) => set({}, deps.store.pendingRows));
}

export async function startApiServer(deps: ApiDeps): Promise<Listener> {
  const api = deps.config.api!;
  const readClient = openClient(deps.config.store, 'audit-sidecar-api');
  const sql = new SqlRunner(
    (role) => openClient(deps.config.store, `audit-sidecar-sql-${role}`),
    { database: deps.config.store.database, tables: ANALYST_TABLES },
    { maxExecutionSeconds: Math.ceil(api.sql.timeoutMs / 1000), maxResultRows: api.sql.maxResultRows, maxMemoryBytes: api.sql.maxMemoryBytes },
  );
  const clients = { queries: new EventQueries(readClient, deps.config.store.database, Math.ceil(api.queryTimeoutMs / 1000)), sql };
  registerExportMetrics(deps);
  let listener: Listener;
  try {
    listener = await listen(createApiApp(deps, clients).fetch, api.host, api.port, {
      headersTimeoutMs: api.headersTimeoutMs,
      requestTimeoutMs: api.requestTimeoutMs,
      maxConnections: api.maxConnections,
    });
  } catch (error) {
    await closeClients([readClient, ...sql.connections], deps.config.store.endpoint);
    throw error;
  }
  deps.log.info('api listening', { url: listener.url });
  return {
    url: listener.url,
    close: async () => {
      await listener.close();
      await closeClients([readClient, ...sql.connections], deps.config.store.endpoint);
    },
  };
}
