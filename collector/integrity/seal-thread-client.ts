/**
 * The main thread's side of the hashing thread (seal-thread.ts). A load's blocks are
 * copied into one buffer that moves to the thread and back with the answer, to be filled
 * again by the next load: the loader's own buffers are still being inserted (and a small
 * one may share Buffer's pool), and filling memory already touched costs ~0.25 µs a row
 * where a fresh buffer a load cost ~7 µs in page faults (measured, 2 KB rows). The thread
 * starts on first use; if it dies, the loads it held fail (the loader retries them, its
 * position unsaved) and the next load starts a new one.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../paths.js';
import type { HashedLoad, LoadToHash } from './hash-load.js';

/** The compiled entry: a thread runs JavaScript, also when the main thread runs from source (tests). */
const THREAD_ENTRY = join(projectRoot(), 'dist', 'collector', 'integrity', 'seal-thread.js');

export interface ToSealThread {
  id: number;
  load: Omit<LoadToHash, 'blocks'> & { blocks: Uint8Array };
}

/** `spare`: the buffer the load came in, back for the next one. */
export type FromSealThread = { id: number; hashed: HashedLoad; spare: ArrayBuffer } | { id: number; error: string; spare: ArrayBuffer };

export class SealThreadError extends Error {}

export class SealThread {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, { worker: Worker; resolve: (hashed: HashedLoad) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private closed = false;
  /** The buffer the last load came back in (none while a load is out, or after a thread died holding it). */
  private spare: ArrayBuffer | undefined;

  /** Hashes the load on the thread; rejects with SealThreadError if the thread fails or ends first. */
  hash(load: Omit<LoadToHash, 'blocks'> & { blocks: ReadonlyArray<Buffer> }): Promise<HashedLoad> {
    if (this.closed) return Promise.reject(new SealThreadError('the hashing thread is closed'));
    const worker = this.worker ?? this.start();
    const blocks = this.fill(load.blocks);
    const id = ++this.nextId;
    return new Promise<HashedLoad>((resolve, reject) => {
      this.jobs.set(id, { worker, resolve, reject });
      const message: ToSealThread = { id, load: { ...load, blocks } };
      worker.postMessage(message, [blocks.buffer]);
    });
  }

  /** The running thread, if any (tests end it to see a load fail). */
  get thread(): Worker | undefined {
    return this.worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(THREAD_ENTRY);
    // Idle, it keeps no process alive; a load waiting on it is awaited by the loader anyway.
    worker.unref();
    worker.on('message', (message: FromSealThread) => {
      if (!this.spare || message.spare.byteLength > this.spare.byteLength) this.spare = message.spare;
      const job = this.jobs.get(message.id);
      if (!job) return;
      this.jobs.delete(message.id);
      if ('error' in message) job.reject(new SealThreadError(`hashing a load failed: ${message.error}`));
      else job.resolve({ ...message.hashed, leavesBlock: Buffer.from(message.hashed.leavesBlock.buffer, message.hashed.leavesBlock.byteOffset, message.hashed.leavesBlock.byteLength) });
    });
    const fail = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, job] of this.jobs) {
        if (job.worker !== worker) continue;
        this.jobs.delete(id);
        job.reject(new SealThreadError(why));
      }
    };
    worker.on('error', (error) => fail(`the hashing thread failed: ${error.message}`));
    worker.on('exit', (code) => fail(`the hashing thread exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  /** The parts copied one after another into the spare buffer, or a new one when it is too small. */
  private fill(parts: ReadonlyArray<Uint8Array>): Uint8Array<ArrayBuffer> {
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    const buffer = this.spare && this.spare.byteLength >= bytes ? this.spare : new ArrayBuffer(Math.ceil(bytes * 1.25));
    this.spare = undefined;
    const out = new Uint8Array(buffer, 0, bytes);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
