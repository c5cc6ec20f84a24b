/**
 * Assembles the sidecar: the store first, then the listeners; shutdown runs the other way
 * round, so every request already accepted is committed before the store closes.
 */
import type { SidecarConfig } from './config/load.js';
import { isLoopbackHost, TokenVerifier } from './auth/tokens.js';
import { EventStore } from './store/event-store.js';
import { startIngestServer, type IngestServer } from './receivers/ingest-server.js';
import type { Logger } from './log.js';
import { ExportService } from './export/export-service.js';
import { startApiServer } from './api/server.js';
import type { Listener } from './http/listen.js';
import { Metrics } from './telemetry/metrics.js';
import { StartupError } from './errors.js';
import { checkPortsFree } from './http/check-ports.js';
import { waitForStore } from './store/wait-for-store.js';
import { startIntegrity } from './integrity/open-sealer.js';
import { installSecretBox, loadSecretBox } from './export/secrets.js';

export interface Sidecar {
  readonly ingestUrl: string;
  /** Undefined when extensions.api is not configured. */
  readonly apiUrl: string | undefined;
  readonly store: EventStore;
  readonly ingest: IngestServer;
  readonly exports: ExportService;
  /** Stops accepting, answers requests in flight, commits, closes the store. Safe twice. */
  stop(): Promise<void>;
}

export { StartupError } from './errors.js';

export async function startSidecar(config: SidecarConfig, log: Logger): Promise<Sidecar> {
  const auth = new TokenVerifier(config.tokens);
  const listeners: Array<[string, string | undefined]> = [
    ['receivers.otlp.protocols.http.endpoint', config.ingest.host],
    ['extensions.api.endpoint', config.api?.host],
  ];
  for (const [key, host] of listeners) {
    if (host !== undefined && !auth.enabled && !isLoopbackHost(host)) {
      throw new StartupError(`${key}: refusing to listen on ${host} without auth; configure auth.tokens or listen on 127.0.0.1`);
    }
  }
  // Fail fast, before migrations: ports taken, then a server that never answers.
  await checkPortsFree([
    { key: 'receivers.otlp.protocols.http.endpoint', host: config.ingest.host, port: config.ingest.port },
    ...(config.api ? [{ key: 'extensions.api.endpoint', host: config.api.host, port: config.api.port }] : []),
  ]);
  await waitForStore(config.store, log);
  installSecretBox(await loadSecretBox(config.secrets));
  const metrics = new Metrics();
  const store = await EventStore.open(config.store, {
    collectorId: config.collectorId,
    batch: config.batch,
    ingestLog: config.ingestLog,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    log,
    metrics,
  });
  let exports: ExportService | undefined;
  let api: Listener | undefined;
  let ingest: IngestServer;
  try {
    await startIntegrity(store, config, log);
    exports = await ExportService.start(config, store, log);
    if (config.api) api = await startApiServer({ config, store, exports, auth, metrics, log });
    ingest = await startIngestServer({ config, store, auth, log, metrics });
  } catch (error) {
    await api?.close();
    await exports?.stop();
    await store.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    ingestUrl: ingest.url,
    apiUrl: api?.url,
    store,
    ingest,
    exports,
    stop: () => {
      stopping ??= (async () => {
        log.info('shutting down', { records_to_load: store.pendingRows });
        await ingest.close();
        await api?.close();
        await exports.stop();
        await store.close();
        log.info('stopped', { inserts: store.commitStats.batches, loaded_records: store.commitStats.rows });
      })();
      return stopping;
    },
  };
}
