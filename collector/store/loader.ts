/**
 * The loader: the one consumer that moves the ingest log into ClickHouse, in order, in
 * large inserts: up to send_batch_size rows, or whatever waits once its oldest frame is
 * `timeout` old, or at once when someone waits for it (a reader, an `ack: stored`
 * request, shutdown). Its position is saved after each insert.
 *
 * Nothing is stored twice: after a restart the rows the log holds past the saved
 * position, and after a failed insert (which may have committed after all) the rows it
 * held, are checked against what is stored, and those found are left out. Failed inserts
 * are retried with backoff and jitter, forever: nothing is dropped.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { FrameError, frameParts } from '../ingest-log/frame.js';
import type { IngestLog } from '../ingest-log/ingest-log.js';
import type { FrameRef } from '../ingest-log/segments.js';
import { insertBlocks } from './insert-blocks.js';
import { indexNativeBlocks, readNativeColumn } from './native-reader.js';
import { filterNativeBlock } from './native-filter.js';
import { backoffMs } from '../backoff.js';
import { Pause } from '../pause.js';
import { duplicateKey } from './row-encoding.js';

export interface LoaderOptions {
  client: ClickHouseClient;
  database: string;
  collectorId: string;
  maxRows: number;
  maxAgeMs: number;
  insertTimeoutMs: number;
  log: Logger;
  metrics?: Metrics;
  /**
   * Integrity: called before each insert with every frame's blocks, rows found already
   * stored included, and the ingest_seq of rows left out as copies (hashing may start
   * beside the insert); the function it returns runs after the insert and before the
   * position is saved (leaves and a checkpoint). A rejection fails the load, which is retried.
   */
  seal?: (batch: { blocks: Buffer[]; dropped: ReadonlySet<number> }) => () => Promise<unknown>;
}

export interface LoaderStatus {
  state: 'ok' | 'retrying';
  last_error: { at: string; message: string } | null;
  last_success_at: string | null;
  loaded_seq: number;
  inserts: number;
  rows: number;
  /** Records of frames damaged on disk after they were synced (logged with their place). */
  unreadable_records: number;
}

const POSITION_FILE = 'loader.position';
const NO_ROWS = new Uint32Array(0);

export class Loader {
  private loaded: number;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly pause = new Pause();
  /** Rows above this may already be stored: check before inserting them. */
  private uncertainThrough: number;
  /** When each not-yet-loaded frame was appended (by its lastSeq): the oldest sets the deadline. */
  private readonly appendedAt = new Map<number, number>();
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private urgent = 0;
  private failures = 0;
  private readonly loadListeners: Array<(range: { afterSeq: number; lastSeq: number }) => void> = [];
  readonly status: LoaderStatus;

  private constructor(
    private readonly ingestLog: IngestLog,
    private readonly options: LoaderOptions,
    savedPosition: number,
    /** Where the position is saved after each insert. */
    private readonly positionFile: string,
  ) {
    this.loaded = savedPosition;
    this.uncertainThrough = ingestLog.durableSeq;
    this.status = { state: 'ok', last_error: null, last_success_at: null, loaded_seq: savedPosition, inserts: 0, rows: 0, unreadable_records: 0 };
    ingestLog.onAppend((frame) => {
      this.appendedAt.set(frame.lastSeq, Date.now());
      this.pause.news();
    });
  }

  /** The saved position, never below what the log no longer holds (trimmed frames were loaded). */
  static async open(ingestLog: IngestLog, options: LoaderOptions, directory: string): Promise<Loader> {
    let saved = 0;
    try {
      saved = Number((await readFile(join(directory, POSITION_FILE), 'utf8')).trim()) || 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const first = ingestLog.first;
    const floor = first ? first.afterSeq : ingestLog.durableSeq;
    return new Loader(ingestLog, options, Math.max(saved, floor), join(directory, POSITION_FILE));
  }

  /** Every row with ingest_seq up to this is in ClickHouse. */
  get loadedSeq(): number {
    return this.loaded;
  }

  onLoaded(listener: (range: { afterSeq: number; lastSeq: number }) => void): () => void {
    this.loadListeners.push(listener);
    return () => {
      const at = this.loadListeners.indexOf(listener);
      if (at >= 0) this.loadListeners.splice(at, 1);
    };
  }

  start(): void {
    this.running ??= this.run();
  }

  /**
   * Resolves true once everything up to `seq` is loaded (loading at once, not waiting for
   * a full batch), or false after `timeoutMs`.
   */
  waitLoaded(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.loaded >= seq) return Promise.resolve(true);
    this.urgent += 1;
    this.pause.news();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const waiter = { seq, resolve: () => finish(true) };
      const finish = (loaded: boolean) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.urgent -= 1;
        resolve(loaded);
      };
      this.waiters.push(waiter);
    });
  }

  /** Stops after the insert in flight; safe twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause.stop();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const frames = this.ingestLog.framesAfter(this.loaded, this.options.maxRows);
      if (frames.length === 0) {
        await this.pause.wait(1_000, true);
        continue;
      }
      const rows = frames.reduce((n, f) => n + f.rows, 0);
      const more = this.ingestLog.durableSeq > frames[frames.length - 1]!.lastSeq;
      const oldest = this.appendedAt.get(frames[0]!.lastSeq) ?? 0; // recovered frames are old
      const due = oldest + this.options.maxAgeMs - Date.now();
      if (rows < this.options.maxRows && !more && this.urgent === 0 && due > 0) {
        await this.pause.wait(due, true);
        continue;
      }
      try {
        await this.load(frames);
        this.failures = 0;
      } catch (error) {
        this.uncertainThrough = Math.max(this.uncertainThrough, frames[frames.length - 1]!.lastSeq);
        const message = (error as Error).message;
        this.options.metrics?.commitFailures.inc();
        if (this.status.state !== 'retrying' || this.status.last_error?.message !== message) {
          this.options.log.error('loader: insert into ClickHouse failed; retrying (the events wait in the ingest log)', {
            error: message, records: rows, lag_records: this.ingestLog.durableSeq - this.loaded,
          });
        }
        this.status.state = 'retrying';
        this.status.last_error = { at: new Date().toISOString(), message };
        await this.pause.wait(backoffMs(this.failures++, 100, 10_000), false);
      }
    }
  }

  private async load(frames: FrameRef[]): Promise<void> {
    const started = Date.now();
    const afterSeq = this.loaded;
    const lastSeq = frames[frames.length - 1]!.lastSeq;
    const blocks: Buffer[] = [];
    const mustCheckStored = afterSeq < this.uncertainThrough;
    // Per frame: its blocks (as written, or one buffer read back) and the rows to check for copies.
    let checks: Array<{ rows: number; blocks: ReadonlyArray<Buffer>; checkRows: Uint32Array }> = [];
    for (const ref of frames) {
      const kept = mustCheckStored ? undefined : this.ingestLog.takeBlocks(ref);
      if (kept) {
        checks.push({ rows: ref.rows, blocks: kept, checkRows: NO_ROWS });
        continue;
      }
      let read;
      try {
        read = await this.ingestLog.reader.read(ref);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        // Synced and then damaged on disk: retrying cannot mend it, and stopping here would
        // hold back everything after it. Say exactly what is lost, and go on.
        this.status.unreadable_records += ref.rows;
        this.options.log.error('ingest log: a frame no longer matches its checksum; its records cannot be loaded', {
          segment: ref.segment, offset: ref.offset, after_seq: ref.afterSeq, last_seq: ref.lastSeq, records: ref.rows, problem: error.message,
        });
        continue;
      }
      const parts = frameParts(read.data, read.layout);
      checks.push({ rows: ref.rows, blocks: [parts.blocks], checkRows: parts.checkRows });
    }
    const stored = mustCheckStored ? await this.storedSeqs(afterSeq, Math.min(lastSeq, this.uncertainThrough)) : new Set<number>();
    const copies = await this.storedCopies(checks);
    const dropped = new Set<number>();
    let inserted = 0;
    for (const { rows, blocks: frameData, checkRows } of checks) {
      if (stored.size === 0 && checkRows.length === 0) {
        blocks.push(...frameData);
        inserted += rows;
        continue;
      }
      // A frame read back: one buffer.
      const data = frameData[0]!;
      const dropRows = new Set(checkRows.filter((row) => copies.drop.has(row + copies.offsets.get(data)!)).map(Number));
      let rowBase = 0;
      for (const index of indexNativeBlocks(data)) {
        const seqs = readNativeColumn(data, index.columns.get('ingest_seq')!, index.rows) as number[];
        const base = rowBase;
        const block = filterNativeBlock(data, index, (i) => {
          if (stored.has(seqs[i]!)) return false;
          if (dropRows.has(base + i)) dropped.add(seqs[i]!);
          return !dropRows.has(base + i);
        });
        rowBase += index.rows;
        if (block.length > 0) {
          blocks.push(block);
          inserted += indexNativeBlocks(block)[0]!.rows;
        }
      }
    }
    const frameBlocks = checks.flatMap((c) => c.blocks);
    checks = [];
    const sealed = this.options.seal?.({ blocks: frameBlocks, dropped });
    if (blocks.length > 0) await insertBlocks(this.options.client, this.options.database, blocks, this.options.insertTimeoutMs);
    await sealed?.();
    this.loaded = lastSeq;
    for (const frame of frames) this.appendedAt.delete(frame.lastSeq);
    await this.savePosition();
    const recovered = this.status.state !== 'ok';
    Object.assign(this.status, { state: 'ok', last_error: null, last_success_at: new Date().toISOString(), loaded_seq: lastSeq });
    this.status.inserts += 1;
    this.status.rows += inserted;
    if (recovered) this.options.log.info('loader: ClickHouse is taking inserts again', { loaded_seq: lastSeq, lag_records: this.ingestLog.durableSeq - lastSeq });
    this.options.metrics?.commitRows.observe(inserted);
    this.options.metrics?.commitSeconds.observe((Date.now() - started) / 1000);
    this.options.log.debug('loaded', { rows: inserted, last_seq: lastSeq, ms: Date.now() - started });
    this.waiters.filter((w) => w.seq <= lastSeq).forEach((w) => w.resolve());
    for (const listener of this.loadListeners) listener({ afterSeq, lastSeq });
  }

  private async savePosition(): Promise<void> {
    // No fsync: a position lost in a crash only means a replay, and the replay is checked.
    const tmp = `${this.positionFile}.tmp`;
    await writeFile(tmp, String(this.loaded));
    await rename(tmp, this.positionFile);
  }

  /** ingest_seq of this collector's rows already stored in (after, through]. */
  private async storedSeqs(after: number, through: number): Promise<Set<number>> {
    const result = await this.options.client.query({
      query: `SELECT ingest_seq FROM ${this.options.database}.events
              WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}`,
      query_params: { c: this.options.collectorId, a: after, b: through },
      format: 'JSONCompactEachRow',
    });
    return new Set((await result.json<[string | number]>()).map((r) => Number(r[0])));
  }

  /**
   * Rows marked for a check (an event whose source gave no time carries the receive time,
   * so a resent copy differs in occurred_at and the sort key cannot collapse it) whose
   * (tenant, event_id) is stored already or earlier in this insert. Rows are numbered
   * across all frames (`offsets`: where each frame's rows start).
   */
  private async storedCopies(frames: Array<{ rows: number; blocks: ReadonlyArray<Buffer>; checkRows: Uint32Array }>): Promise<{ drop: Set<number>; offsets: Map<Buffer, number> }> {
    const offsets = new Map<Buffer, number>();
    const keys = new Map<number, string>();
    let base = 0;
    for (const { rows, blocks: frameData, checkRows } of frames) {
      // Frames with rows to check were read back whole: one buffer.
      const blocks = frameData[0]!;
      offsets.set(blocks, base);
      if (checkRows.length > 0) {
        const wanted = new Set(checkRows);
        let rowBase = 0;
        for (const index of indexNativeBlocks(blocks)) {
          const tenants = readNativeColumn(blocks, index.columns.get('tenant_id')!, index.rows) as string[];
          const ids = readNativeColumn(blocks, index.columns.get('event_id')!, index.rows) as string[];
          for (let i = 0; i < index.rows; i++) if (wanted.has(rowBase + i)) keys.set(base + rowBase + i, duplicateKey(tenants[i]!, ids[i]!));
          rowBase += index.rows;
        }
      }
      base += rows;
    }
    const drop = new Set<number>();
    if (keys.size === 0) return { drop, offsets };
    const tenants = new Set<string>();
    const ids = new Set<string>();
    for (const key of keys.values()) {
      const [tenant, id] = key.split('\u0000') as [string, string];
      tenants.add(tenant);
      ids.add(id);
    }
    const result = await this.options.client.query({
      query: `SELECT DISTINCT tenant_id, event_id FROM ${this.options.database}.events
              WHERE tenant_id IN {tenants:Array(String)} AND event_id IN {ids:Array(String)}`,
      query_params: { tenants: [...tenants], ids: [...ids] },
      format: 'JSONEachRow',
    });
    const seen = new Set((await result.json<{ tenant_id: string; event_id: string }>()).map((r) => duplicateKey(r.tenant_id, r.event_id)));
    for (const [row, key] of [...keys.entries()].sort((a, b) => a[0] - b[0])) {
      if (seen.has(key)) drop.add(row);
      else seen.add(key);
    }
    return { drop, offsets };
  }
}
