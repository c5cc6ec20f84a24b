/**
 * The hashing thread: serializes each load's rows canonically, hashes them and builds
 * their Merkle tree and the leaves' Native block (hash-load.ts), off the main thread,
 * which keeps taking requests meanwhile. Loads arrive one at a time; the leaves go back,
 * and so does the buffer the load came in, for the next one (see seal-thread-client.ts).
 */
import { parentPort } from 'node:worker_threads';
import { hashLoad } from './hash-load.js';
import type { FromSealThread, ToSealThread } from './seal-thread-client.js';

const port = parentPort!;

port.on('message', (message: ToSealThread) => {
  const { blocks, ...rest } = message.load;
  const spare = blocks.buffer as ArrayBuffer;
  let answer: FromSealThread;
  try {
    const hashed = hashLoad({ ...rest, blocks: Buffer.from(blocks.buffer, blocks.byteOffset, blocks.byteLength) });
    // A small block may sit in Buffer's shared pool, which stays here: send a copy of it.
    const own = hashed.leavesBlock.buffer.byteLength > Buffer.poolSize ? hashed.leavesBlock : new Uint8Array(hashed.leavesBlock);
    answer = { id: message.id, hashed: { ...hashed, leavesBlock: own }, spare };
  } catch (error) {
    answer = { id: message.id, error: (error as Error).message, spare };
  }
  const transfer = [spare];
  if ('hashed' in answer && answer.hashed.leavesBlock.byteLength > 0) transfer.push(answer.hashed.leavesBlock.buffer as ArrayBuffer);
  port.postMessage(answer, transfer);
});
