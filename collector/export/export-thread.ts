/**
 * The export thread: every destination's export loop runs here, on an event loop of its own.
 * On the main thread each step of a loop (a read's result, the receiver's answer, a gzip)
 * waited its turn behind bursts of ingest requests, and under full load a destination
 * received a seventh of what was ingested (measured); here those steps only share the CPU.
 * The main thread keeps the ClickHouse side (chDB sessions belong to it): it runs the reads
 * and hands over their RowBinary bytes, and saves positions. Status and logs go back to it
 * as messages.
 */
import { parentPort } from 'node:worker_threads';
import type { LogFields, LogLevel, Logger } from '../log.js';
import { CommittedTail } from './committed-tail.js';
import { readRows, type ExportRow, type RowFilter } from './row-reader.js';
import { Sender } from './sender.js';
import type { FromExportThread, ToExportThread } from './thread-protocol.js';
import { ExportWorker, type PositionSaver, type RowSource } from './worker.js';

const port = parentPort!;
const post = (message: FromExportThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

function forwardingLogger(base: LogFields = {}): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => post({ type: 'log', level, msg, fields: { ...base, ...fields } });
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => forwardingLogger({ ...base, ...fields }) };
}

/** Requests to the main thread waiting for their answer. */
const pending = new Map<number, { resolve: (value: Uint8Array | undefined) => void; reject: (error: Error) => void }>();
let nextRequest = 0;

function ask(message: (request: number) => FromExportThread): Promise<Uint8Array | undefined> {
  const request = ++nextRequest;
  return new Promise((resolve, reject) => {
    pending.set(request, { resolve, reject });
    post(message(request));
  });
}

/**
 * The newest commits, for loops that keep up. 64 MiB is about 23,000 typical rows (2.1 KB
 * of block and 0.8 KB of received bytes each), about a second of full ingest: a loop
 * further behind than that reads from the store.
 */
const tail = new CommittedTail(64 * 1024 * 1024);

const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const reader: RowSource = {
  async read(after: number, through: number, limit: number, filter: RowFilter): Promise<ExportRow[]> {
    const fromTail = tail.read(after, through, limit, filter);
    if (fromTail) return fromTail;
    const data = await ask((request) => ({ type: 'read', request, after, through, limit, filter }));
    return readRows(bufferOf(data!));
  },
};

const positions: PositionSaver = {
  saveSoon(id: string, position: number) {
    post({ type: 'save', id, position }); // the main thread logs a failure to save
  },
  async flush(id: string) {
    await ask((request) => ({ type: 'flush', request, id }));
  },
};

const log = forwardingLogger();
const running = new Map<string, { worker: ExportWorker; sender: Sender }>();
let committedSeq = 0;

async function stop(id: string): Promise<void> {
  const entry = running.get(id);
  running.delete(id);
  if (entry) {
    await entry.worker.stop();
    await entry.sender.close();
  }
  post({ type: 'stopped', id });
}

function settle(request: number, outcome: { data?: Uint8Array; error?: string }): void {
  const waiting = pending.get(request);
  pending.delete(request);
  if (!waiting) return;
  if (outcome.error !== undefined) waiting.reject(new Error(outcome.error));
  else waiting.resolve(outcome.data);
}

port.on('message', (message: ToExportThread) => {
  switch (message.type) {
    case 'start': {
      committedSeq = Math.max(committedSeq, message.committedSeq);
      const sender = new Sender(message.destination, message.publicOnly);
      const worker: ExportWorker = new ExportWorker(
        {
          destination: message.destination,
          reader,
          positions,
          sender,
          committedSeq: () => committedSeq,
          log,
          onChange: () => post({ type: 'status', id: message.id, status: worker.status }),
        },
        message.position,
      );
      running.set(message.id, { worker, sender });
      worker.start();
      return;
    }
    case 'committed':
      if (message.data) {
        const received = message.received && message.receivedLengths ? { data: bufferOf(message.received), lengths: message.receivedLengths } : undefined;
        try {
          tail.add({ afterSeq: message.afterSeq, lastSeq: message.committedSeq }, bufferOf(message.data), received);
        } catch (error) {
          // A bug, not a state: say so, and let the store serve these rows (the chain restarts).
          log.error('committed rows could not be read; export reads them from the store', { error: (error as Error).message });
          tail.clear();
        }
      } else {
        tail.clear(); // no loop was running: the chain has a gap now
      }
      committedSeq = Math.max(committedSeq, message.committedSeq);
      for (const { worker } of running.values()) worker.notify();
      return;
    case 'stop':
      void stop(message.id);
      return;
    case 'rows':
      settle(message.request, { data: message.data });
      return;
    case 'readFailed':
      settle(message.request, { error: message.message });
      return;
    case 'flushed':
      settle(message.request, {});
      return;
    case 'close':
      void Promise.all([...running.keys()].map((id) => stop(id))).then(() => post({ type: 'closed' }));
      return;
  }
});
