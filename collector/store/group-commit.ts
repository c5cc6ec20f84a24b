/**
 * Group commit: concurrent requests' rows coalesce into one insert. A request's promise
 * settles only when the insert holding its rows has committed (or failed), and a
 * request's rows are never split across inserts, so each request is all-or-nothing.
 *
 * Inserts run one at a time, which keeps commit order equal to ingest_seq order: readers
 * that follow the sequence never see a later number before an earlier one.
 */
import { StoreBusyError } from '../errors.js';

export interface GroupCommitOptions {
  /** Rows that make a batch worth committing now. */
  maxRows: number;
  /** Longest the oldest waiting row may wait before its batch is committed. */
  maxAgeMs: number;
  /** Rows accepted but not committed (waiting + in flight) before submit refuses. */
  maxPendingRows: number;
  /** Commits rows (in order) as one insert; rejects if nothing was stored. */
  commit: (rows: string[]) => Promise<void>;
}

interface Waiter {
  rows: string[];
  at: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  rows: number;
  failedBatches: number;
}

export class GroupCommit {
  private waiting: Waiter[] = [];
  private waitingRows = 0;
  private inFlightRows = 0;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  readonly stats: GroupCommitStats = { batches: 0, rows: 0, failedBatches: 0 };

  constructor(private readonly options: GroupCommitOptions) {}

  /** Rows accepted and not yet committed. */
  get pendingRows(): number {
    return this.waitingRows + this.inFlightRows;
  }

  /** Resolves once `rows` are committed; rejects with the store's error otherwise. */
  submit(rows: string[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.closing) return Promise.reject(new StoreBusyError(this.pendingRows));
    if (this.pendingRows + rows.length > this.options.maxPendingRows && this.pendingRows > 0) {
      return Promise.reject(new StoreBusyError(this.pendingRows));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, at: Date.now(), resolve, reject });
      this.waitingRows += rows.length;
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
    const oldestAt = this.waiting[0]?.at ?? Date.now();
    if (this.waitingRows >= this.options.maxRows || Date.now() - oldestAt >= this.options.maxAgeMs) {
      this.startCommit();
      return;
    }
    if (!this.timer) {
      const due = Math.max(0, oldestAt + this.options.maxAgeMs - Date.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.waiting.length > 0) this.schedule();
      }, due);
    }
  }

  private takeBatch(): Waiter[] {
    let rows = 0;
    let count = 0;
    while (count < this.waiting.length && (count === 0 || rows + this.waiting[count]!.rows.length <= this.options.maxRows)) {
      rows += this.waiting[count]!.rows.length;
      count += 1;
    }
    const batch = this.waiting.splice(0, count);
    this.waitingRows -= rows;
    this.inFlightRows = rows;
    return batch;
  }

  private startCommit(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.takeBatch();
    const rows = batch.length === 1 ? batch[0]!.rows : batch.flatMap((w) => w.rows);
    this.inFlight = this.options.commit(rows).then(
      () => {
        this.stats.batches += 1;
        this.stats.rows += rows.length;
        for (const waiter of batch) waiter.resolve();
      },
      (error: unknown) => {
        this.stats.failedBatches += 1;
        for (const waiter of batch) waiter.reject(error);
      },
    ).finally(() => {
      this.inFlight = undefined;
      this.inFlightRows = 0;
      if (this.waiting.length > 0 && !this.closing) this.schedule();
    });
  }
}
