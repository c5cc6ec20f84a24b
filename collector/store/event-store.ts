/**
 * The durable step: normalized events go in through group commit and are acknowledged
 * only once ClickHouse has them. Owns the ClickHouse clients (one for ingest commits,
 * one for reads) and closes them, embedded engine included, on shutdown.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEvent } from '../../schemas/audit-event.js';
import type { StoreConfig } from '../config/load.js';
import { StoreBusyError, StoreUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { closeClients, openClient } from './clickhouse-client.js';
import { GroupCommit } from './group-commit.js';
import { IngestSequence } from './ingest-sequence.js';
import { migrate } from './migrations.js';
import type { Metrics } from '../telemetry/metrics.js';
import { duplicateKey, encodeRows, keepRows, type EncodedRows, type ReceivedRecords } from './row-encoding.js';
import { insertBlocks } from './insert-blocks.js';

const lacksSourceTime = (event: AuditEvent): boolean => event.occurred_at_is_receive_time === true;

/** What one commit stored: every committed row with afterSeq < ingest_seq <= lastSeq, as the Native blocks inserted. */
export interface CommittedBatch {
  afterSeq: number;
  lastSeq: number;
  blocks: ReadonlyArray<Buffer>;
  /** Per block, its records' bytes as received where export may send them as they are. */
  received: ReadonlyArray<ReceivedRecords | undefined>;
}

export interface EventStoreOptions {
  collectorId: string;
  metrics?: Metrics;
  batch: { maxRows: number; maxAgeMs: number; maxPendingRows: number };
  log: Logger;
}

export class EventStore {
  private readonly groupCommit: GroupCommit<EncodedRows>;
  private closed = false;
  private lastCommittedSeq: number;
  private readonly commitListeners: Array<(commit: CommittedBatch) => void> = [];
  /**
   * Whether commits should carry the records' bytes as received (export sets this: while
   * no destination runs, copying them would be work for nothing on the ingest path).
   */
  keepReceivedBytes: () => boolean = () => false;

  private constructor(
    readonly config: StoreConfig,
    /** Ingest commits only; a slow reader on another client cannot stall it. */
    private readonly ingestClient: ClickHouseClient,
    /** Reads: sequence recovery, readiness, queries. */
    readonly readClient: ClickHouseClient,
    private readonly sequence: IngestSequence,
    private readonly options: EventStoreOptions,
  ) {
    this.lastCommittedSeq = sequence.storedThrough;
    this.groupCommit = new GroupCommit<EncodedRows>({ ...options.batch, commit: (batches) => this.commit(batches) });
  }

  static async open(config: StoreConfig, options: EventStoreOptions): Promise<EventStore> {
    const ingestClient = openClient(config, 'audit-sidecar-ingest');
    let readClient: ClickHouseClient | undefined;
    try {
      readClient = openClient(config, 'audit-sidecar-read');
      if (config.createSchema) {
        const applied = await migrate(readClient, config, options.log);
        if (applied.length > 0) options.log.info('schema migrated', { applied });
      }
      const sequence = await IngestSequence.load(readClient, config.database, options.collectorId);
      options.log.info('store open', {
        endpoint: config.endpoint,
        database: config.database,
        next_ingest_seq: sequence.peek(),
      });
      return new EventStore(config, ingestClient, readClient, sequence, options);
    } catch (error) {
      await closeClients(readClient ? [ingestClient, readClient] : [ingestClient], config.endpoint);
      throw error;
    }
  }

  /**
   * Queues events for the next commit and resolves once they are committed. Rejects with
   * StoreBusyError (nothing queued) or StoreUnavailableError (nothing stored). The rows are
   * numbered and encoded here, per request, so a commit only concatenates buffers; numbering
   * in queue order keeps ingest_seq in commit order.
   */
  submit(events: ReadonlyArray<AuditEvent>): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    if (!this.groupCommit.hasRoomFor(events.length)) return Promise.reject(new StoreBusyError(this.pendingRows));
    const rows = encodeRows(events, this.sequence.take(events.length), this.options.collectorId, lacksSourceTime, this.keepReceivedBytes());
    return this.groupCommit.submit(rows);
  }

  /**
   * Drops rows already stored, or earlier in this commit, among those the sort key cannot
   * deduplicate: an event whose source gave no time gets the receive time, so a resent copy
   * differs in occurred_at. Commits are serial, so the check sees every earlier commit.
   */
  private async withoutDuplicates(batches: EncodedRows[]): Promise<Buffer[]> {
    const checked = batches.filter((b) => b.duplicateCheck);
    if (checked.length === 0) return batches.map((b) => b.buffer);
    const tenants = new Set<string>();
    const ids = new Set<string>();
    for (const batch of checked) {
      for (const key of batch.duplicateCheck!.keys) {
        if (!key) continue;
        const [tenant, id] = key.split('\u0000') as [string, string];
        tenants.add(tenant);
        ids.add(id);
      }
    }
    const result = await this.ingestClient.query({
      query: `SELECT DISTINCT tenant_id, event_id FROM ${this.config.database}.events
              WHERE tenant_id IN {tenants:Array(String)} AND event_id IN {ids:Array(String)}`,
      query_params: { tenants: [...tenants], ids: [...ids] },
      format: 'JSONEachRow',
    });
    const seen = new Set((await result.json<{ tenant_id: string; event_id: string }>()).map((r) => duplicateKey(r.tenant_id, r.event_id)));
    return batches.map((batch) => {
      if (!batch.duplicateCheck) return batch.buffer;
      const keys = batch.duplicateCheck.keys;
      return keepRows(batch, (i) => {
        const key = keys[i]!;
        if (!key) return true;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    });
  }

  /** Every row with ingest_seq up to this is committed (and visible to readers). */
  get committedSeq(): number {
    return this.lastCommittedSeq;
  }

  /** Called after each commit with what it stored; returns the unsubscribe function. */
  onCommit(listener: (commit: CommittedBatch) => void): () => void {
    this.commitListeners.push(listener);
    return () => {
      const at = this.commitListeners.indexOf(listener);
      if (at >= 0) this.commitListeners.splice(at, 1);
    };
  }

  get pendingRows(): number {
    return this.groupCommit.pendingRows;
  }

  get commitStats() {
    return this.groupCommit.stats;
  }

  /** True when the store answers a trivial query. */
  async ping(): Promise<boolean> {
    if (this.closed) return false;
    const result = await this.readClient.ping();
    return result.success;
  }

  private async commit(batches: EncodedRows[]): Promise<void> {
    const started = Date.now();
    let rows = 0;
    for (const batch of batches) rows += batch.count;
    const lastSeq = batches[batches.length - 1]!.lastSeq;
    // Numbers are taken in queue order and batches leave it in that order: one range.
    const afterSeq = batches[0]!.lastSeq - batches[0]!.count;
    const blocks: Buffer[] = [];
    const received: Array<ReceivedRecords | undefined> = [];
    try {
      await this.sequence.ensureReserved(lastSeq);
      (await this.withoutDuplicates(batches)).forEach((block, i) => {
        if (block.length === 0) return;
        blocks.push(block);
        // A block re-encoded without some rows no longer lines up with its records' bytes.
        received.push(block === batches[i]!.buffer ? batches[i]!.received : undefined);
      });
      if (blocks.length > 0) await insertBlocks(this.ingestClient, this.config.database, blocks, this.config.insertTimeoutMs); // none: every row was stored already
    } catch (error) {
      this.options.metrics?.commitFailures.inc();
      this.options.log.error('batch insert failed', { rows, error: (error as Error).message });
      throw new StoreUnavailableError(`store could not commit the batch: ${(error as Error).message}`, { cause: error });
    }
    this.options.log.debug('batch committed', { rows, last_seq: lastSeq, ms: Date.now() - started });
    this.options.metrics?.commitRows.observe(rows);
    this.options.metrics?.commitSeconds.observe((Date.now() - started) / 1000);
    this.lastCommittedSeq = lastSeq;
    for (const listener of this.commitListeners) listener({ afterSeq, lastSeq, blocks, received });
  }

  /** Commits what is waiting, then closes every client (and drains chDB). Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.close();
    try {
      await this.sequence.close();
    } catch (error) {
      this.options.log.warn('could not record the last ingest_seq; the next start skips ahead', { error: (error as Error).message });
    }
    await closeClients([this.ingestClient, this.readClient], this.config.endpoint);
  }
}
