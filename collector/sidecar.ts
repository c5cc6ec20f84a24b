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

export class StartupError extends Error {}

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
  installSecretBox(await loadSecretBox(config.secrets));
  const metrics = new Metrics();
  const store = await EventStore.open(config.store, { collectorId: config.collectorId, batch: config.batch, log, metrics });
  let exports: ExportService | undefined;
  let api: Listener | undefined;
  let ingest: IngestServer;
  try {
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
        log.info('shutting down', { pending_records: store.pendingRows });
        await ingest.close();
        await api?.close();
        await exports.stop();
        await store.close();
        log.info('stopped', { committed_batches: store.commitStats.batches, committed_records: store.commitStats.rows });
      })();
      return stopping;
    },
  };
}
