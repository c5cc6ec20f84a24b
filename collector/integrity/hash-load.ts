/**
 * The CPU-heavy half of sealing a load, with no I/O: the leaves of its rows not sealed yet,
 * their Merkle root, and the Native block of audit.event_leaves that stores them. The
 * hashing thread (seal-thread.ts) runs it off the main thread; signing and the inserts
 * stay with the sealer.
 */
import { emptyLeaves, leavesOfNativeBlocks, type RowLeaves } from './canonical.js';
import { merkleRoot } from './merkle.js';
import { NativeWriter } from '../store/native-writer.js';

export interface LoadToHash {
  /** The load's Native blocks: frames' blocks, apart or one after another. */
  blocks: Buffer | ReadonlyArray<Buffer>;
  /** Rows with ingest_seq up to this are sealed already (a replay). */
  sealedThrough: number;
  /** ingest_seq of rows never stored (copies left out of the insert). */
  dropped: ReadonlyArray<number>;
  collectorId: string;
}

export interface HashedLoad {
  count: number;
  fromSeq: number;
  toSeq: number;
  /** Merkle root, lowercase hex. */
  merkleRoot: string;
  /** The leaves as a Native block for `INSERT INTO event_leaves (LEAVES_COLUMNS) FORMAT Native`. */
  leavesBlock: Uint8Array;
}

export const LEAVES_COLUMNS = 'collector_id, ingest_seq, event_id, tenant_id, occurred_at, retention_days, expires_at, leaf';

const MAX_DATETIME = 4_294_967_295;

export function hashLoad(load: LoadToHash): HashedLoad {
  const dropped = new Set(load.dropped);
  const keep = (seq: number) => seq > load.sealedThrough && !dropped.has(seq);
  const leaves = emptyLeaves();
  for (const blocks of Buffer.isBuffer(load.blocks) ? [load.blocks] : load.blocks) leavesOfNativeBlocks(blocks, keep, leaves);
  const count = leaves.seqs.length;
  if (count === 0) return { count, fromSeq: 0, toSeq: 0, merkleRoot: '', leavesBlock: new Uint8Array(0) };
  return {
    count,
    fromSeq: leaves.seqs[0]!,
    toSeq: leaves.seqs[count - 1]!,
    merkleRoot: merkleRoot(leaves.leaves).toString('hex'),
    leavesBlock: leavesBlock(leaves, load.collectorId),
  };
}

function leavesBlock(leaves: RowLeaves, collectorId: string): Buffer {
  const rows = leaves.seqs.length;
  const w = new NativeWriter(rows * 120 + 1024);
  w.varUInt(8);
  w.varUInt(rows);
  const column = (name: string, type: string, write: (i: number) => void) => {
    w.string(name);
    w.string(type);
    for (let i = 0; i < rows; i++) write(i);
  };
  const dateTime = (seconds: number) => w.uint32(Math.max(0, Math.min(MAX_DATETIME, seconds)));
  column('collector_id', 'String', () => w.string(collectorId));
  column('ingest_seq', 'UInt64', (i) => w.uint64(leaves.seqs[i]!));
  column('event_id', 'String', (i) => w.string(leaves.eventIds[i]!));
  column('tenant_id', 'String', (i) => w.string(leaves.tenants[i]!));
  column('occurred_at', "DateTime('UTC')", (i) => dateTime(leaves.occurredAt[i]!));
  column('retention_days', 'UInt16', (i) => w.uint16(leaves.retentionDays[i]!));
  column('expires_at', "DateTime('UTC')", (i) => dateTime(leaves.occurredAt[i]! + leaves.retentionDays[i]! * 86_400));
  column('leaf', 'FixedString(32)', (i) => w.bytes(leaves.leaves[i]!));
  return w.finish();
}
