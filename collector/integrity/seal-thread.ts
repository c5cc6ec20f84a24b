/**
 * The hashing thread: serializes each load's rows canonically, hashes them and builds
 * their Merkle tree and the leaves' Native block (hash-load.ts), off the main thread,
 * which keeps taking requests meanwhile. Loads arrive one at a time and go back as they
 * come; the bytes move both ways without a copy.
 */
import { parentPort } from 'node:worker_threads';
import { hashLoad } from './hash-load.js';
import type { FromSealThread, ToSealThread } from './seal-thread-client.js';

const port = parentPort!;

port.on('message', (message: ToSealThread) => {
  let answer: FromSealThread;
  try {
    const { blocks, ...rest } = message.load;
    const hashed = hashLoad({ ...rest, blocks: Buffer.from(blocks.buffer, blocks.byteOffset, blocks.byteLength) });
    // A copy this thread owns outright (a small block may sit in Buffer's shared pool).
    answer = { id: message.id, hashed: { ...hashed, leavesBlock: new Uint8Array(hashed.leavesBlock) } };
  } catch (error) {
    answer = { id: message.id, error: (error as Error).message };
  }
  const block = 'hashed' in answer ? answer.hashed.leavesBlock : undefined;
  port.postMessage(answer, block ? [block.buffer as ArrayBuffer] : []);
});
