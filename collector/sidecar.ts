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

export interface Sidecar {
  readonly ingestUrl: string;
  readonly store: EventStore;
  readonly ingest: IngestServer;
  readonly exports: ExportService;
  /** Stops accepting, answers requests in flight, commits, closes the store. Safe twice. */
  stop(): Promise<void>;
}

export class StartupError extends Error {}

export async function startSidecar(config: SidecarConfig, log: Logger): Promise<Sidecar> {
  const auth = new TokenVerifier(config.tokens);
  if (!auth.enabled && !isLoopbackHost(config.ingest.host)) {
    throw new StartupError(
      `receivers.otlp.protocols.http.endpoint: refusing to listen on ${config.ingest.host} without auth; ` +
        'configure auth.tokens or listen on 127.0.0.1',
    );
  }
  const store = await EventStore.open(config.store, { collectorId: config.collectorId, batch: config.batch, log });
  let exports: ExportService | undefined;
  let ingest: IngestServer;
  try {
    exports = await ExportService.start(config, store, log);
    ingest = await startIngestServer({ config, store, auth, log });
  } catch (error) {
    await exports?.stop();
    await store.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    ingestUrl: ingest.url,
    store,
    ingest,
    exports,
    stop: () => {
      stopping ??= (async () => {
        log.info('shutting down', { pending_records: store.pendingRows });
        await ingest.close();
        await exports.stop();
        await store.close();
        log.info('stopped', { committed_batches: store.commitStats.batches, committed_records: store.commitStats.rows });
      })();
      return stopping;
    },
  };
}
