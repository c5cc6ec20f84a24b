/**
 * The export thread: every destination's export loop runs here, on an event loop of its own.
 * On the main thread each step of a loop (a read's result, the receiver's answer, a gzip)
 * waited its turn behind bursts of ingest requests; here those steps only share the CPU.
 * Loops read the ingest log's segment files themselves; rows older than the log come from
 * ClickHouse, read by the main thread (chDB sessions belong to it), which also saves
 * positions. Status and logs go back to it as messages.
 */
import { parentPort } from 'node:worker_threads';
import type { LogFields, LogLevel, Logger } from '../log.js';
import { LogTail } from './log-tail.js';
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

let tail: LogTail | undefined;
let durableSeq = 0;
let loadedSeq = 0;

const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const reader: RowSource = {
  async read(after: number, through: number, limit: number, filter: RowFilter): Promise<{ rows: ExportRow[]; through: number }> {
    const fromLog = await tail?.read(after, through, limit, filter);
    if (fromLog) return { rows: fromLog, through };
    // Older than the log: ClickHouse has it once loaded (the log only drops loaded rows).
    const end = Math.min(through, loadedSeq);
    if (end <= after) return { rows: [], through: after };
    const data = await ask((request) => ({ type: 'read', request, after, through: end, limit, filter }));
    return { rows: readRows(bufferOf(data!)), through: end };
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

const notifyAll = () => {
  for (const { worker } of running.values()) worker.notify();
};

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
    case 'log':
      tail = new LogTail(message.directory);
      tail.reset(message.frames);
      durableSeq = message.durableSeq;
      loadedSeq = message.loadedSeq;
      return;
    case 'start': {
      const sender = new Sender(message.destination, message.publicOnly);
      const worker: ExportWorker = new ExportWorker(
        {
          destination: message.destination,
          reader,
          positions,
          sender,
          committedSeq: () => durableSeq,
          log,
          onChange: () => post({ type: 'status', id: message.id, status: worker.status }),
        },
        message.position,
        message.exported,
      );
      running.set(message.id, { worker, sender });
      worker.start();
      return;
    }
    case 'appended':
      tail?.appended(message.frame);
      durableSeq = Math.max(durableSeq, message.frame.lastSeq);
      notifyAll();
      return;
    case 'trimmed':
      tail?.trimmed(message.segments);
      return;
    case 'loaded':
      loadedSeq = Math.max(loadedSeq, message.seq);
      notifyAll();
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
      void Promise.all([...running.keys()].map((id) => stop(id)))
        .then(() => tail?.close())
        .then(() => post({ type: 'closed' }));
      return;
  }
});
