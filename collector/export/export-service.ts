/**
 * Runs one export worker per destination, woken by the store's commits. Owns the export
 * connection, so exports never queue behind ingest or readers.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { SidecarConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import type { EventStore } from '../store/event-store.js';
import type { Destination } from './destination.js';
import { PositionStore } from './positions.js';
import { RowReader } from './row-reader.js';
import { Sender } from './sender.js';
import { ExportWorker } from './worker.js';

export interface ExportEntry {
  destination: Destination;
  worker: ExportWorker;
  sender: Sender;
}

export class ExportService {
  private constructor(
    private readonly client: ClickHouseClient,
    private readonly endpoint: string,
    readonly entries: ExportEntry[],
    readonly reader: RowReader,
    private readonly store: EventStore,
  ) {}

  static async start(config: SidecarConfig, store: EventStore, log: Logger): Promise<ExportService> {
    const client = openClient(config.store, 'audit-sidecar-export');
    const positions = new PositionStore(client, config.store.database, config.collectorId);
    const reader = new RowReader(client, config.store.database, config.collectorId);
    const entries: ExportEntry[] = [];
    try {
      for (const destination of config.destinations) {
        let start = await positions.load(destination.id);
        if (start === undefined) {
          // A new destination starts with what is ingested from now on.
          start = destination.startFrom === 'earliest' ? 0 : store.committedSeq;
          await positions.save(destination.id, start);
        }
        const sender = new Sender(destination);
        const worker = new ExportWorker({ destination, reader, positions, sender, committedSeq: () => store.committedSeq, log }, start);
        entries.push({ destination, worker, sender });
        log.info('exporting', { destination: destination.id, endpoint: destination.endpoint, header_names: Object.keys(destination.headers), position: start });
      }
    } catch (error) {
      await closeClients([client], config.store.endpoint);
      throw error;
    }
    const service = new ExportService(client, config.store.endpoint, entries, reader, store);
    store.onCommit(() => {
      for (const entry of entries) entry.worker.notify();
    });
    for (const entry of entries) entry.worker.start();
    return service;
  }

  /** Rows waiting for a destination: committed, after its position, passing its filter. */
  lagRecords(entry: ExportEntry): Promise<number> {
    const d = entry.destination;
    return this.reader.count(entry.worker.status.position, this.store.committedSeq, { tenant: d.tenant, eventTypes: d.eventTypes });
  }

  /** Ends every worker (abandoning requests in flight), then the connection. Safe twice. */
  async stop(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.worker.stop()));
    await Promise.all(this.entries.map((e) => e.sender.close()));
    await closeClients([this.client], this.endpoint);
    this.entries.length = 0;
  }
}
