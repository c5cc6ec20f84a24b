/**
 * Group commit: concurrent requests' rows coalesce into one insert. A request's promise
 * settles only when the insert holding its rows has committed (or failed), and a
 * request's rows are never split across inserts, so each request is all-or-nothing.
 *
 * Inserts run one at a time, which keeps commit order equal to ingest_seq order: readers
 * that follow the sequence never see a later number before an earlier one.
 */
import { StoreBusyError } from '../errors.js';

/** What is committed: anything that knows how many rows it holds. */
export interface RowBatch {
  readonly count: number;
}

export interface GroupCommitOptions<T extends RowBatch> {
  /** Rows that make a batch worth committing now. */
  maxRows: number;
  /** Longest the oldest waiting row may wait before its batch is committed. */
  maxAgeMs: number;
  /** Rows accepted but not committed (waiting + in flight) before submit refuses. */
  maxPendingRows: number;
  /** Commits the batches (in order) as one insert; rejects if nothing was stored. */
  commit: (batches: T[]) => Promise<void>;
}

interface Waiter<T> {
  batch: T;
  at: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  rows: number;
  failedBatches: number;
}

export class GroupCommit<T extends RowBatch> {
  private waiting: Waiter<T>[] = [];
  private waitingRows = 0;
  private inFlightRows = 0;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  readonly stats: GroupCommitStats = { batches: 0, rows: 0, failedBatches: 0 };

  /** Rows that make a batch worth committing when no insert is running. */
  private readonly idleCommitRows: number;
  /** How long the last commit took: a pause in arrivals this long ends the wait for more rows. */
  private lastCommitMs = 5;

  constructor(private readonly options: GroupCommitOptions<T>) {
    this.idleCommitRows = Math.max(1, Math.ceil(options.maxRows / 10));
  }

  /** Rows accepted and not yet committed. */
  get pendingRows(): number {
    return this.waitingRows + this.inFlightRows;
  }

  /** Whether `rows` more may be queued now (one request may always go when nothing waits). */
  hasRoomFor(rows: number): boolean {
    return !this.closing && (this.pendingRows === 0 || this.pendingRows + rows <= this.options.maxPendingRows);
  }

  /** Resolves once the batch's rows are committed; rejects with the store's error otherwise. */
  submit(batch: T): Promise<void> {
    const rows = batch.count;
    if (rows === 0) return Promise.resolve();
    if (!this.hasRoomFor(rows)) return Promise.reject(new StoreBusyError(this.pendingRows));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ batch, at: Date.now(), resolve, reject });
      this.waitingRows += rows;
      this.schedule();
    });
  }

  /** Stops accepting, commits everything waiting, and waits for the last insert. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.waiting.length > 0 || this.inFlight) {
      if (!this.inFlight) this.startCommit();
      await this.inFlight;
    }
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.inFlight) return; // the running insert reschedules when it ends
    const now = Date.now();
    const oldestAt = this.waiting[0]?.at ?? now;
    const newestAt = this.waiting[this.waiting.length - 1]?.at ?? now;
    // The engine is idle here. A full batch, or one that has waited long enough, goes now;
    // so does a tenth of a batch, since waiting longer would only add latency once clients
    // are waiting on the previous commit (inserts are serial); and so does any batch once
    // requests stopped arriving for a quarter of the last commit's time: clients that wait
    // for their answer before sending more would otherwise wait out the whole timeout, and
    // a wave of such clients arrives within a few ms. (Under heavy load commits are slow, so
    // this pause is long and batches stay large; measured with 4 closed-loop clients, a
    // quarter rather than a whole commit's time: p50 51 -> 41 ms.)
    const quietMs = Math.min(this.options.maxAgeMs, Math.max(3, this.lastCommitMs / 4));
    if (
      this.waitingRows >= this.idleCommitRows ||
      now - oldestAt >= this.options.maxAgeMs ||
      now - newestAt >= quietMs
    ) {
      this.startCommit();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    const due = Math.max(0, Math.min(oldestAt + this.options.maxAgeMs, newestAt + quietMs) - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.waiting.length > 0) this.schedule();
    }, due);
  }

  private takeWaiters(): Waiter<T>[] {
    let rows = 0;
    let count = 0;
    while (count < this.waiting.length && (count === 0 || rows + this.waiting[count]!.batch.count <= this.options.maxRows)) {
      rows += this.waiting[count]!.batch.count;
      count += 1;
    }
    const taken = this.waiting.splice(0, count);
    this.waitingRows -= rows;
    this.inFlightRows = rows;
    return taken;
  }

  private startCommit(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waiters = this.takeWaiters();
    const rows = this.inFlightRows;
    const started = Date.now();
    this.inFlight = this.options.commit(waiters.map((w) => w.batch)).then(
      () => {
        this.stats.batches += 1;
        this.stats.rows += rows;
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        this.stats.failedBatches += 1;
        for (const waiter of waiters) waiter.reject(error);
      },
    ).finally(() => {
      this.lastCommitMs = Date.now() - started;
      this.inFlight = undefined;
      this.inFlightRows = 0;
      if (this.waiting.length > 0 && !this.closing) this.schedule();
    });
  }
}
