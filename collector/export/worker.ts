/**
 * One destination's export loop: read committed rows after the persisted position, send
 * them in ingest order, advance only on the receiver's acknowledgement. Retryable answers
 * back off (honouring Retry-After); a 413 halves the batch; any other failure keeps the
 * position and is surfaced, never dropped.
 */
import { backoffMs } from '../backoff.js';
import { Pause } from '../pause.js';
import type { Logger } from '../log.js';
import type { Destination } from './destination.js';
import { encodeExportRequest } from './otlp-encoder.js';
import type { PositionStore } from './positions.js';
import type { ExportRow, RowFilter } from './row-reader.js';
import type { Sender, SendOutcome } from './sender.js';

/** What the loop needs of the positions and the rows (on the export thread, both go through the main thread). */
export type PositionSaver = Pick<PositionStore, 'saveSoon' | 'flush'>;
export interface RowSource {
  /**
   * Up to `limit` rows with after < ingest_seq <= through, oldest first, and how far the
   * read looked (`through`, or less when the rows past that are not readable yet).
   */
  read(after: number, through: number, limit: number, filter: RowFilter): Promise<{ rows: ExportRow[]; through: number }>;
}

/** A loop's status before it has done anything. */
export function initialStatus(destination: Destination, position: number, exported = 0): ExportStatus {
  return { state: destination.enabled ? 'ok' : 'disabled', last_error: null, last_warning: null, last_success_at: null, exported_records: exported, position };
}

export type ExportState = 'ok' | 'retrying' | 'failing' | 'disabled';

/** Rows one read fetches at most, whatever the batch size. */
const READ_AHEAD_ROWS = 5_000;

export interface ExportStatus {
  state: ExportState;
  last_error: { at: string; message: string; http_status: number | null } | null;
  last_warning: { at: string; message: string; rejected_records: number } | null;
  last_success_at: string | null;
  exported_records: number;
  position: number;
}

export interface WorkerDeps {
  destination: Destination;
  reader: RowSource;
  positions: PositionSaver;
  sender: Sender;
  /** Highest ingest_seq acknowledged (synced to the ingest log). */
  committedSeq: () => number;
  log: Logger;
  /** Called whenever `status` changed (the export thread reports it to the main thread). */
  onChange?: () => void;
}

export { backoffMs };

export class ExportWorker {
  readonly status: ExportStatus;
  private stopped = false;
  /** Ends an idle wait early (new rows, or stop). */
  private readonly pause = new Pause();
  /** Rows were committed since the last read. */
  private dirty = true;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
  /** Lowered after a 413, restored after a success. */
  private batchLimit: number;
  /** Rows read but not yet acknowledged: one read serves many sends (a read costs a part's worth of I/O). */
  private buffer: ExportRow[] = [];
  /** The read of the rows after the buffer, started while the buffer is being sent. */
  private nextRead: Promise<ExportRow[]> | undefined;
  /**
   * How many ingest_seq numbers past its start one read covers at most. Bounded only by
   * the newest commit, every read made the engine sort the sequence numbers of the whole
   * backlog; bounded, a read costs about the same however far behind the loop is. The span
   * doubles while reads come back sparse (a filter that rarely matches, the gap a crash
   * leaves in the sequence) and halves once they fill up again.
   */
  private span: number;
  /** The next batch's body, encoded and compressed while the receiver handles the current one. */
  private ahead: { firstSeq: number; count: number; body: Promise<Buffer> } | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    startPosition: number,
    /** Records this destination's loop already delivered since start (kept across a PATCH). */
    exportedBefore = 0,
  ) {
    this.batchLimit = deps.destination.maxBatchSize;
    this.span = this.readSize();
    this.status = initialStatus(deps.destination, startPosition, exportedBefore);
  }

  start(): void {
    if (!this.deps.destination.enabled) return;
    this.running ??= this.run().catch((error: unknown) => {
      // A bug here must not take the process (and ingest) down; say so loudly instead.
      this.recordError(`export stopped: ${(error as Error).message}`, undefined, 'failing');
      this.deps.log.error('export worker stopped', { destination: this.deps.destination.id, error: (error as Error).message });
    });
  }

  /** New rows were committed: stop waiting for them. */
  notify(): void {
    this.dirty = true;
    this.pause.news();
  }

  /** Abandons a request in flight (its rows are resent on the next start), ends the loop, saves the position. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.pause.stop();
    await this.running;
    await this.deps.positions.flush(this.deps.destination.id);
  }

  private readSize(): number {
    return Math.max(READ_AHEAD_ROWS, this.deps.destination.maxBatchSize);
  }

  private filter() {
    return { tenant: this.deps.destination.tenant, eventTypes: this.deps.destination.eventTypes };
  }

  /** The end of the next read after `after`: the newest commit, or less when that is far. */
  private readEnd(after: number, committed: number): number {
    return Math.min(committed, after + this.span);
  }

  /** The rows after `after` up to `end` (and how far the read looked); adapts the span to how many came back. */
  private async readRows(after: number, end: number, committed: number): Promise<{ rows: ExportRow[]; through: number }> {
    const size = this.readSize();
    const read = await this.deps.reader.read(after, end, size, this.filter());
    if (read.rows.length < size / 2 && end < committed) this.span = Math.min(this.span * 2, Number.MAX_SAFE_INTEGER);
    else if (read.rows.length === size) this.span = Math.max(size, Math.floor(this.span / 2));
    return read;
  }

  /** Overlaps the next read with sending: starts it once half the buffer is left. */
  private prefetch(): void {
    if (this.nextRead || this.buffer.length === 0 || this.buffer.length > this.readSize() / 2) return;
    const after = this.buffer[this.buffer.length - 1]!.seq;
    const committed = this.deps.committedSeq();
    if (committed <= after) return;
    const read = this.readRows(after, this.readEnd(after, committed), committed).then((r) => r.rows);
    read.catch(() => undefined); // a failure surfaces when the result is used
    this.nextRead = read;
  }

  /** The body for `rows`: the one encoded ahead if it holds exactly these rows, else made now. */
  private async bodyOf(rows: ExportRow[]): Promise<Buffer> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead && ahead.firstSeq === rows[0]!.seq && ahead.count === rows.length) {
      const body = await ahead.body.catch(() => undefined);
      if (body) return body; // a failure is reported by encoding again below
    }
    return this.deps.sender.compress(encodeExportRequest(rows, this.deps.destination.encoding));
  }

  /**
   * Encodes the batch after the first `sent` buffered rows while the current one is on its
   * way: the receiver's work and ours overlap, and still only one request is in flight,
   * so batches arrive in order and a restart resends at most one.
   */
  private encodeAhead(sent: number): void {
    const next = this.buffer.slice(sent, sent + this.batchLimit);
    if (next.length === 0) return;
    const encoding = this.deps.destination.encoding;
    // After a turn of the event loop, so the current request is written first.
    const body = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.deps.sender.compress(encodeExportRequest(next, encoding)));
    body.catch(() => undefined); // bodyOf() encodes again and reports the error
    this.ahead = { firstSeq: next[0]!.seq, count: next.length, body };
  }

  /** Waits `ms`; an idle wait also ends when rows are committed. Backoffs are not cut short by new rows. */
  private sleep(ms: number, idle: boolean): Promise<void> {
    if (this.stopped || (idle && this.dirty)) return Promise.resolve();
    return this.pause.wait(ms, idle);
  }

  private async run(): Promise<void> {
    const d = this.deps.destination;
    while (!this.stopped) {
      this.dirty = false;
      const committed = this.deps.committedSeq();
      // What an empty buffer after the reads below proves: no row for this destination up to here.
      let through = committed;
      try {
        if (this.buffer.length === 0 && this.nextRead) {
          const prefetched = this.nextRead;
          this.nextRead = undefined;
          this.buffer = await prefetched;
        }
        if (this.buffer.length === 0 && committed > this.status.position) {
          const read = await this.readRows(this.status.position, this.readEnd(this.status.position, committed), committed);
          this.buffer = read.rows;
          through = read.through;
        }
        this.prefetch();
      } catch (error) {
        this.nextRead = undefined;
        this.recordError(`cannot read rows to export: ${(error as Error).message}`, undefined, 'retrying');
        await this.sleep(backoffMs(this.failures++, d.retry.initialIntervalMs, d.retry.maxIntervalMs), false);
        continue;
      }
      if (this.buffer.length === 0) {
        // Nothing new passes this destination's filter up to `through`: move past it, and
        // wait only once nothing acknowledged is left to look at, or nothing more is
        // readable yet (rows older than the log wait for the loader).
        const looked = through > this.status.position;
        if (looked) this.advance(through, 0);
        if (looked && through < committed) continue;
        await this.sleep(1_000, true);
        continue;
      }
      const rows = this.buffer.slice(0, this.batchLimit);
      let body: Buffer;
      try {
        body = await this.bodyOf(rows);
      } catch (error) {
        // Never skip a row: keep the position and say which rows cannot be encoded.
        this.recordError(`cannot encode rows ${rows[0]!.seq}..${rows[rows.length - 1]!.seq}: ${(error as Error).message}`, undefined, 'failing');
        await this.sleep(backoffMs(this.failures++, d.retry.initialIntervalMs, d.retry.maxIntervalMs), false);
        continue;
      }
      const sending = this.deps.sender.sendCompressed(body, this.abort.signal);
      this.encodeAhead(rows.length);
      const outcome = await sending;
      if (this.stopped) break;
      await this.handle(outcome, rows);
    }
  }

  private async handle(outcome: SendOutcome, rows: ExportRow[]): Promise<void> {
    const d = this.deps.destination;
    switch (outcome.kind) {
      case 'ok': {
        this.buffer.splice(0, rows.length);
        this.advance(rows[rows.length - 1]!.seq, rows.length);
        if (outcome.rejected > 0) {
          this.status.last_warning = { at: new Date().toISOString(), message: this.redact(outcome.message), rejected_records: outcome.rejected };
          this.deps.log.warn('receiver rejected part of a batch', { destination: d.id, rejected_records: outcome.rejected, message: this.redact(outcome.message) });
          this.deps.onChange?.();
        }
        return;
      }
      case 'too_large':
        if (rows.length > 1) {
          this.batchLimit = Math.max(1, Math.floor(rows.length / 2));
          this.deps.log.warn('receiver refused the batch as too large; splitting', { destination: d.id, batch: rows.length, next: this.batchLimit });
          return;
        }
        this.recordError(`${outcome.message} (a single record)`, outcome.status, 'failing');
        break;
      case 'retry':
        this.recordError(outcome.message, outcome.status, 'retrying');
        break;
      case 'fail':
        this.recordError(outcome.message, outcome.status, 'failing');
        break;
    }
    const wait = outcome.kind === 'retry' && outcome.retryAfterMs !== undefined
      ? Math.min(outcome.retryAfterMs, d.retry.maxIntervalMs)
      : backoffMs(this.failures, d.retry.initialIntervalMs, d.retry.maxIntervalMs);
    this.failures += 1;
    await this.sleep(wait, false);
  }

  private advance(position: number, exported: number): void {
    // The batch was delivered; a position not yet saved only means a restart resends it.
    this.deps.positions.saveSoon(this.deps.destination.id, position, (error) =>
      this.deps.log.warn('could not persist the export position', { destination: this.deps.destination.id, error: error.message }),
    );
    const recovered = this.status.state !== 'ok';
    this.status.position = position;
    this.status.exported_records += exported;
    if (exported > 0) this.status.last_success_at = new Date().toISOString();
    this.status.state = 'ok';
    this.failures = 0;
    this.batchLimit = this.deps.destination.maxBatchSize;
    if (recovered && exported > 0) this.deps.log.info('export recovered', { destination: this.deps.destination.id, position });
    this.deps.onChange?.();
  }

  private recordError(message: string, httpStatus: number | undefined, state: ExportState): void {
    const safe = this.redact(message);
    const changed = this.status.state !== state || this.status.last_error?.message !== safe;
    this.status.state = state;
    this.status.last_error = { at: new Date().toISOString(), message: safe, http_status: httpStatus ?? null };
    if (changed) {
      this.deps.log.warn('export failing', { destination: this.deps.destination.id, state, http_status: httpStatus ?? null, error: safe, position: this.status.position });
    }
    this.deps.onChange?.();
  }

  /** Header values are secrets even when a receiver echoes them back. */
  private redact(message: string): string {
    let out = message;
    for (const value of Object.values(this.deps.destination.headers)) if (value.length >= 4) out = out.split(value).join('***');
    return out;
  }
}
