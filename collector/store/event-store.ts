/**
 * The durable step. Normalized events are numbered, encoded and appended to the ingest
 * log; a request is acknowledged once its frame is synced (`ack: durable`) or once the
 * loader has inserted it into ClickHouse (`ack: stored`). The loader carries the log into
 * ClickHouse in large inserts and rides out store outages; readers see what it loaded.
 * Owns the ClickHouse clients (one for the loader, one for reads) and closes them,
 * embedded engine included, on shutdown.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEvent } from '../../schemas/audit-event.js';
import type { IngestLogConfig, StoreConfig } from '../config/load.js';
import { StoreBusyError, StoreUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { IngestLog, LogFullError } from '../ingest-log/ingest-log.js';
import type { FrameRef } from '../ingest-log/segments.js';
import { closeClients, openClient } from './clickhouse-client.js';
import { IngestSequence } from './ingest-sequence.js';
import { Loader } from './loader.js';
import { migrate } from './migrations.js';
import type { Metrics } from '../telemetry/metrics.js';
import { encodeRows } from './row-encoding.js';
import { openSealer, type Sealer } from '../integrity/open-sealer.js';

const lacksSourceTime = (event: AuditEvent): boolean => event.occurred_at_is_receive_time === true;

/** Rows with afterSeq < ingest_seq <= lastSeq were loaded into ClickHouse. */
export interface LoadedRange {
  afterSeq: number;
  lastSeq: number;
}

export interface EventStoreOptions {
  collectorId: string;
  metrics?: Metrics;
  batch: { maxRows: number; maxAgeMs: number; maxPendingRows: number };
  ingestLog: IngestLogConfig;
  shutdownTimeoutMs: number;
  log: Logger;
}

/** Whether ingest can take requests now, and why not. */
export interface IngestHealth {
  accepting: boolean;
  /** The store is not taking inserts: events wait in the log. */
  storeDegraded: boolean;
  reason: string | undefined;
}

export class EventStore {
  private closed = false;
  /** Rows numbered and encoded whose frame is not written yet. */
  private unwrittenRows = 0;
  /** Positions below which readers other than the loader still need the log (export). */
  private readonly logHolders: Array<() => number> = [];
  private trimming: Promise<void> | undefined;
  private nextSeq: number;
  /** Size of the last request refused for want of room in the log, until one is appended again. */
  private refusedBytes: number | undefined;
  /** Signs checkpoints over what the loader loads (undefined with integrity off). */
  sealer: Sealer | undefined;

  private constructor(
    readonly config: StoreConfig,
    /** The loader's inserts only; a slow reader on another client cannot stall it. */
    private readonly ingestClient: ClickHouseClient,
    /** Reads: sequence recovery, readiness, queries. */
    readonly readClient: ClickHouseClient,
    readonly log: IngestLog,
    readonly loader: Loader,
    private readonly options: EventStoreOptions,
  ) {
    this.nextSeq = log.durableSeq + 1;
    loader.onLoaded(() => this.trimSoon());
  }

  static async open(config: StoreConfig, options: EventStoreOptions): Promise<EventStore> {
    const ingestClient = openClient(config, 'audit-sidecar-ingest');
    let readClient: ClickHouseClient | undefined;
    let ingestLog: IngestLog | undefined;
    try {
      readClient = openClient(config, 'audit-sidecar-read');
      if (config.createSchema) {
        const applied = await migrate(readClient, config, options.log);
        if (applied.length > 0) options.log.info('schema migrated', { applied });
      }
      // The log numbers rows; the store's highest number covers a log that was lost or is new.
      const storedThrough = await IngestSequence.highestUsed(readClient, config.database, options.collectorId);
      const sealer = await openSealer(ingestClient, config, options.collectorId, options.log);
      const { directory, segmentBytes, maxBytes } = options.ingestLog;
      ingestLog = await IngestLog.open({ directory, segmentBytes, maxBytes, log: options.log }, storedThrough);
      const loader = await Loader.open(
        ingestLog,
        {
          client: ingestClient,
          database: config.database,
          collectorId: options.collectorId,
          maxRows: options.batch.maxRows,
          maxAgeMs: options.batch.maxAgeMs,
          insertTimeoutMs: config.insertTimeoutMs,
          log: options.log,
          metrics: options.metrics,
          seal: sealer && ((batch) => sealer.prepare(batch)),
        },
        options.ingestLog.directory,
      );
      const lag = ingestLog.durableSeq - loader.loadedSeq;
      options.log.info('store open', {
        endpoint: config.endpoint,
        database: config.database,
        ingest_log: options.ingestLog.directory,
        ack: options.ingestLog.ack,
        next_ingest_seq: ingestLog.durableSeq + 1,
        ...(lag > 0 ? { records_to_load: lag } : {}),
      });
      const store = new EventStore(config, ingestClient, readClient, ingestLog, loader, options);
      store.sealer = sealer;
      loader.start();
      return store;
    } catch (error) {
      await ingestLog?.close();
      await closeClients(readClient ? [ingestClient, readClient] : [ingestClient], config.endpoint);
      throw error;
    }
  }

  /**
   * Numbers, encodes and appends the events (with, per event, its bytes as received when
   * export may send them unchanged) to the ingest log; resolves once they are
   * acknowledged under the configured mode. Rejects with StoreBusyError or LogFullError
   * (nothing of the request written), LogWriteError (nothing acknowledged), or, with
   * `ack: stored`, StoreUnavailableError when the store did not take them in time (they
   * are in the log and will be loaded; a retry of them is stored once).
   */
  async submit(events: ReadonlyArray<AuditEvent>, received?: ReadonlyArray<Uint8Array | undefined>): Promise<void> {
    if (events.length === 0) return;
    if (this.closed) throw new StoreUnavailableError('the sidecar is shutting down');
    if (this.unwrittenRows > 0 && this.unwrittenRows + events.length > this.options.batch.maxPendingRows) throw new StoreBusyError(this.unwrittenRows);
    const rows = encodeRows(events, this.nextSeq, this.options.collectorId, lacksSourceTime, received);
    const bytes = rows.buffer.length + (rows.received?.data.length ?? 0);
    if (!this.log.hasRoomFor(bytes)) {
      // Refused at once (no wait here: numbering and appending stay in one synchronous
      // step, so frames reach the log in ingest_seq order); the loader frees room.
      this.refusedBytes = bytes;
      this.trimSoon(true);
      throw new LogFullError(this.log.sizeBytes, this.log.maxBytes);
    }
    // Numbers are taken only once the request is sure to be appended: the log stays gap-free.
    this.nextSeq = rows.lastSeq + 1;
    this.unwrittenRows += rows.count;
    let frame: FrameRef;
    try {
      frame = await this.log.append(
        {
          afterSeq: rows.lastSeq - rows.count,
          lastSeq: rows.lastSeq,
          rows: rows.count,
          blocks: [rows.buffer],
          received: rows.received ? { data: [rows.received.data], lengths: rows.received.lengths } : undefined,
          checkRows: rows.checkRows,
        },
        bytes,
      );
    } finally {
      this.unwrittenRows -= rows.count;
    }
    this.refusedBytes = undefined;
    this.options.metrics?.ingestLogAppends.observe(frame.rows);
    if (this.options.ingestLog.ack === 'stored' && !(await this.loader.waitLoaded(rows.lastSeq, this.options.ingestLog.storedTimeoutMs))) {
      throw new StoreUnavailableError(
        `the store did not take the events within ${this.options.ingestLog.storedTimeoutMs} ms (ack: stored); they are in the ingest log and will be loaded, and a retry of them is stored once`,
      );
    }
  }

  /** Every row with ingest_seq up to this is in ClickHouse (and visible to readers). */
  get committedSeq(): number {
    return this.loader.loadedSeq;
  }

  /** Every row with ingest_seq up to this is acknowledged: synced to the ingest log. */
  get durableSeq(): number {
    return this.log.durableSeq;
  }

  /**
   * Resolves once everything acknowledged before the call is in ClickHouse (the loader
   * loads at once for it), or after `timeoutMs` with false (the store is behind or down).
   */
  readable(timeoutMs: number): Promise<boolean> {
    return this.loader.waitLoaded(this.log.durableSeq, timeoutMs);
  }

  /** Called after each insert of the loader with the range it loaded; returns the unsubscribe function. */
  onCommit(listener: (range: LoadedRange) => void): () => void {
    return this.loader.onLoaded(listener);
  }

  /** A reader of the log (export) that needs the frames after the position `holder()` returns. */
  holdLog(holder: () => number): () => void {
    this.logHolders.push(holder);
    return () => {
      const at = this.logHolders.indexOf(holder);
      if (at >= 0) this.logHolders.splice(at, 1);
    };
  }

  /** Rows acknowledged (or waiting for the log) and not yet in ClickHouse. */
  get pendingRows(): number {
    return this.log.durableSeq - this.loader.loadedSeq + this.unwrittenRows;
  }

  get commitStats() {
    return { batches: this.loader.status.inserts, rows: this.loader.status.rows };
  }

  health(): IngestHealth {
    if (this.closed) return { accepting: false, storeDegraded: false, reason: 'shutting down' };
    if (this.log.lastWriteError) return { accepting: false, storeDegraded: false, reason: this.log.lastWriteError.message };
    // Full: the last request refused would still not fit, or not even a typical one would.
    const full = !this.log.hasRoomFor(this.refusedBytes ?? Math.min(1024 * 1024, this.log.maxBytes / 16));
    const degraded = this.loader.status.state !== 'ok';
    if (full) return { accepting: false, storeDegraded: degraded, reason: `the ingest log is full (${this.log.sizeBytes} of ${this.log.maxBytes} bytes)` };
    return { accepting: true, storeDegraded: degraded, reason: degraded ? `store degraded: ${this.loader.status.last_error?.message ?? 'inserts failing'}` : undefined };
  }

  /** True when the store answers a trivial query. */
  async ping(): Promise<boolean> {
    if (this.closed) return false;
    const result = await this.readClient.ping();
    return result.success;
  }

  private trimSoon(force = false): void {
    this.trimming ??= this.trim(force)
      .catch((error: unknown) => this.options.log.warn('ingest log: could not delete old segments', { error: (error as Error).message }))
      .finally(() => (this.trimming = undefined));
  }

  /**
   * Deletes segments every reader has passed; with `force` (the log is full) also those
   * only the loader has passed: destinations that far behind read from ClickHouse.
   */
  private async trim(force: boolean): Promise<void> {
    const loaded = this.loader.loadedSeq;
    // Near max_size (or full) only the loader holds the log back.
    const onlyLoader = force || this.log.sizeBytes > this.log.maxBytes * 0.9;
    await this.log.trim(onlyLoader ? loaded : Math.min(loaded, ...this.logHolders.map((h) => h())));
  }

  /**
   * Stops taking requests, loads what the log holds into ClickHouse (bounded by
   * service.shutdown_timeout), then closes the log and every client (and drains chDB).
   * What could not be loaded stays in the log for the next start. Safe twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const loaded = await this.loader.waitLoaded(this.log.durableSeq, this.options.shutdownTimeoutMs);
    if (!loaded) {
      this.options.log.warn('shutdown: the store did not take everything in time; the rest stays in the ingest log for the next start', {
        records_left: this.log.durableSeq - this.loader.loadedSeq,
      });
    }
    await this.loader.stop();
    await this.sealer?.close();
    await this.trimming;
    try {
      await IngestSequence.record(this.readClient, this.config.database, this.options.collectorId, this.log.durableSeq);
    } catch (error) {
      this.options.log.warn('could not record the last ingest_seq in the store (the ingest log keeps it)', { error: (error as Error).message });
    }
    await this.log.close();
    await closeClients([this.ingestClient, this.readClient], this.config.endpoint);
  }
}
