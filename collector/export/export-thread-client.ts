/**
 * The main thread's side of the export thread (export-thread.ts): starts it, hands it
 * destinations and what happens to the ingest log (frames synced, segments trimmed, rows
 * loaded), runs its reads of ClickHouse, and keeps each destination's last reported
 * status for the API and metrics.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { EventStore } from '../store/event-store.js';
import { projectRoot } from '../paths.js';
import type { Destination } from './destination.js';
import type { PositionStore } from './positions.js';
import type { RowReader } from './row-reader.js';
import type { FromExportThread, ToExportThread } from './thread-protocol.js';
import { initialStatus, type ExportStatus } from './worker.js';

/** The compiled entry: a thread runs JavaScript, also when the main thread runs from source (tests). */
const THREAD_ENTRY = join(projectRoot(), 'dist', 'collector', 'export', 'export-thread.js');

/** The parts copied into one new buffer that owns its memory (so it can be transferred). */
function concat(parts: ReadonlyArray<Uint8Array>): Uint8Array<ArrayBuffer> {
  let bytes = 0;
  for (const part of parts) bytes += part.length;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** One destination's export loop, as seen from the main thread. */
export class RemoteExportWorker {
  readonly status: ExportStatus;

  constructor(
    private readonly thread: ExportThread,
    private readonly destination: Destination,
    private readonly publicOnly: boolean,
    startPosition: number,
    exportedBefore: number,
  ) {
    // The loop starts from the same status; updates arrive as it changes.
    this.status = initialStatus(destination, startPosition, exportedBefore);
  }

  start(): void {
    this.thread.send({
      type: 'start', id: this.destination.id, destination: this.destination, publicOnly: this.publicOnly,
      position: this.status.position, exported: this.status.exported_records,
    });
  }

  update(status: ExportStatus): void {
    Object.assign(this.status, status);
  }

  /** Ends the loop (abandoning a request in flight) once its position is saved. */
  stop(): Promise<void> {
    return this.thread.stopWorker(this.destination.id);
  }
}

export class ExportThread {
  private readonly thread: Worker;
  /** Settles when the thread has ended. */
  private readonly ended: Promise<void>;
  private readonly workers = new Map<string, RemoteExportWorker>();
  private readonly stopping = new Map<string, () => void>();
  private closing: Promise<void> | undefined;
  private exited = false;
  /** Reads of ClickHouse served for the loops (loops inside the ingest log read the log). */
  private storeReadCount = 0;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly reader: RowReader,
    private readonly positions: PositionStore,
    private readonly log: Logger,
    store: EventStore,
  ) {
    this.thread = new Worker(THREAD_ENTRY);
    this.send({ type: 'log', directory: store.log.directory, frames: [...store.log.allFrames], durableSeq: store.durableSeq, loadedSeq: store.committedSeq });
    store.log.onAppend((frame) => this.send({ type: 'appended', frame }));
    store.log.onTrim((segments) => this.send({ type: 'trimmed', segments }));
    this.unsubscribe.push(store.onCommit((range) => this.send({ type: 'loaded', seq: range.lastSeq })));
    // Segments stay until every enabled loop has passed them (or the log is full); a
    // disabled destination reads from ClickHouse when it is enabled again.
    this.unsubscribe.push(
      store.holdLog(() => Math.min(...[...this.workers.values()].filter((w) => w.status.state !== 'disabled').map((w) => w.status.position))),
    );
    this.thread.on('message', (message: FromExportThread) => this.receive(message));
    this.thread.on('error', (error) => log.error('export thread failed', { error: error.message }));
    this.ended = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    this.thread.on('exit', () => {
      this.exited = true;
      for (const done of this.stopping.values()) done();
      this.stopping.clear();
    });
  }

  send(message: ToExportThread, transfer?: ArrayBuffer[]): void {
    if (!this.exited) this.thread.postMessage(message, transfer);
  }

  /** A read for a loop: the RowBinary bytes move to the thread without a copy. */
  private read(message: Extract<FromExportThread, { type: 'read' }>): void {
    this.reader.readRaw(message.after, message.through, message.limit, message.filter).then(
      (data) => {
        this.storeReadCount += 1;
        const owned = concat([data]);
        this.send({ type: 'rows', request: message.request, data: owned }, [owned.buffer]);
      },
      (error: unknown) => this.send({ type: 'readFailed', request: message.request, message: (error as Error).message }),
    );
  }

  private receive(message: FromExportThread): void {
    switch (message.type) {
      case 'status':
        this.workers.get(message.id)?.update(message.status);
        return;
      case 'log':
        this.log[message.level](message.msg, message.fields);
        return;
      case 'stopped':
        this.stopping.get(message.id)?.();
        this.stopping.delete(message.id);
        return;
      case 'read':
        this.read(message);
        return;
      case 'save':
        this.positions.saveSoon(message.id, message.position, (error) =>
          this.log.warn('could not persist the export position', { destination: message.id, error: error.message }),
        );
        return;
      case 'flush':
        // A failed save was logged when it failed; the loop only waits for it to be over.
        void this.positions
          .flush(message.id)
          .catch(() => undefined)
          .then(() => this.send({ type: 'flushed', request: message.request }));
        return;
      case 'closed':
        // Every loop has stopped; what else may keep its event loop alive (idle keep-alive
        // sockets, timers) holds nothing that needs finishing.
        void this.thread.terminate();
        return;
    }
  }

  worker(destination: Destination, publicOnly: boolean, startPosition: number, exportedBefore = 0): RemoteExportWorker {
    const worker = new RemoteExportWorker(this, destination, publicOnly, startPosition, exportedBefore);
    this.workers.set(destination.id, worker);
    return worker;
  }

  get storeReads(): number {
    return this.storeReadCount;
  }

  stopWorker(id: string): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.stopping.set(id, () => {
        this.workers.delete(id);
        resolve();
      });
      this.send({ type: 'stop', id });
    });
  }

  /** Stops every loop, closes the thread's connection (and drains chDB there), ends the thread. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const unsubscribe of this.unsubscribe) unsubscribe();
      this.send({ type: 'close' });
      this.closing = this.ended;
    }
    return this.closing;
  }
}
