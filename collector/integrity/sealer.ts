/**
 * Seals what the loader loads: after each insert, and before the loader saves its position,
 * the leaves of the load's rows go into audit.event_leaves and a signed checkpoint over them
 * into audit.checkpoints. The leaves are hashed from the ingest log's Native blocks, the
 * bytes that were inserted, never read back from the store, on a thread of their own
 * (seal-thread.ts) while the insert runs: the main thread only copies the blocks over and
 * signs one checkpoint a load.
 *
 * Crashes: a checkpoint is written only after the rows it covers are stored, and the
 * loader's position only after the checkpoint. A crash between the insert and the
 * checkpoint leaves the position behind, so the next start replays those frames: the
 * loader finds the rows stored and leaves them out of its insert, and the sealer still
 * seals them from the frames. A crash after the checkpoint but before the position replays
 * rows already sealed: the sealer skips every ingest_seq up to its last checkpoint's to_seq.
 * Leaves written twice collapse (ReplacingMergeTree on collector_id, ingest_seq).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.js';
import { LEAVES_COLUMNS, type HashedLoad } from './hash-load.js';
import { SealThread } from './seal-thread-client.js';
import { checkpointHash, GENESIS_HASH, signCheckpoint, type Checkpoint } from './checkpoint.js';
import type { KeyRing } from './keys.js';
import { publicPem } from './keys.js';
import { createPublicKey } from 'node:crypto';

/** What the loader hands over: its frames' blocks as read from the log, and rows it left out as copies. */
export interface LoadedBatch {
  blocks: ReadonlyArray<Buffer>;
  /** ingest_seq of rows never stored (copies of events already stored). */
  dropped: ReadonlySet<number>;
}

export interface SealerOptions {
  client: ClickHouseClient;
  database: string;
  collectorId: string;
  keys: KeyRing;
  log: Logger;
  insertTimeoutMs: number;
}

export class Sealer {
  private readonly listeners: Array<(checkpoint: Checkpoint) => void> = [];
  /** Where loads are hashed; public so tests can end it mid-load. */
  readonly thread = new SealThread();

  private constructor(
    private readonly options: SealerOptions,
    private sealedThrough: number,
    private lastHash: string,
  ) {}

  /** Continues the chain of this collector's checkpoints. */
  static async open(options: SealerOptions): Promise<Sealer> {
    const result = await options.client.query({
      query: `SELECT collector_id, from_seq, to_seq, count, merkle_root, prev_hash,
                     toUnixTimestamp64Milli(created_at) AS created_ms, key_id, signature
              FROM ${options.database}.checkpoints WHERE collector_id = {c:String}
              ORDER BY to_seq DESC LIMIT 1`,
      query_params: { c: options.collectorId },
      format: 'JSONEachRow',
    });
    const [last] = await result.json<CheckpointRow>();
    await options.client.insert({
      table: `${options.database}.signing_keys`,
      values: [{ key_id: options.keys.activeKeyId, public_key: publicPem(createPublicKey(options.keys.signingKey)) }],
      format: 'JSONEachRow',
    });
    const checkpoint = last ? checkpointOfRow(last) : undefined;
    return new Sealer(options, checkpoint?.to_seq ?? 0, checkpoint ? checkpointHash(checkpoint) : GENESIS_HASH);
  }

  /** Called with every checkpoint written (anchoring). */
  onCheckpoint(listener: (checkpoint: Checkpoint) => void): void {
    this.listeners.push(listener);
  }

  /** Every public key kept (old ones included): what verify checks signatures with. */
  get publicKeys() {
    return this.options.keys.publicKeys;
  }

  get activeKeyId(): string {
    return this.options.keys.activeKeyId;
  }

  get signingKey() {
    return this.options.keys.signingKey;
  }

  get sealedSeq(): number {
    return this.sealedThrough;
  }

  /**
   * Starts hashing the batch's rows not sealed yet on the hashing thread (the loader calls
   * this before its insert, so hashing runs beside it); the function returned writes their
   * leaves and a checkpoint (the loader calls it after the insert, before it saves its
   * position) and rejects, for the loader to retry the load, if hashing or the store failed.
   */
  prepare(batch: LoadedBatch): () => Promise<Checkpoint | undefined> {
    const sealedThrough = this.sealedThrough;
    const hashing = this.thread.hash({ blocks: batch.blocks, sealedThrough, dropped: [...batch.dropped], collectorId: this.options.collectorId });
    hashing.catch(() => undefined); // a failed insert never asks for it
    return () => this.commit(hashing, sealedThrough);
  }

  /** Leaves and a checkpoint for the batch's rows not sealed yet, at once. */
  seal(batch: LoadedBatch): Promise<Checkpoint | undefined> {
    return this.prepare(batch)();
  }

  /** Ends the hashing thread (after the loader has stopped). */
  close(): Promise<void> {
    return this.thread.close();
  }

  private async commit(hashing: Promise<HashedLoad>, sealedThrough: number): Promise<Checkpoint | undefined> {
    const hashed = await hashing;
    // Loads are sealed one after another; a checkpoint written meanwhile would make these leaves stale.
    if (sealedThrough !== this.sealedThrough) throw new Error(`sealed through ${this.sealedThrough} since hashing began at ${sealedThrough}`);
    if (hashed.count === 0) return undefined;
    const result = await this.options.client.exec({
      query: `INSERT INTO ${this.options.database}.event_leaves (${LEAVES_COLUMNS}) FORMAT Native`,
      values: Readable.from([hashed.leavesBlock], { objectMode: false }),
      abort_signal: AbortSignal.timeout(this.options.insertTimeoutMs),
    });
    result.stream.resume();
    await finished(result.stream);
    const unsigned = {
      collector_id: this.options.collectorId,
      from_seq: hashed.fromSeq,
      to_seq: hashed.toSeq,
      count: hashed.count,
      merkle_root: hashed.merkleRoot,
      prev_hash: this.lastHash,
      created_at: new Date().toISOString(),
      key_id: this.options.keys.activeKeyId,
    };
    const checkpoint = signCheckpoint(unsigned, this.options.keys.signingKey);
    await this.options.client.insert({
      table: `${this.options.database}.checkpoints`,
      values: [{ ...checkpoint, created_at: checkpoint.created_at.replace('T', ' ').replace('Z', '') }],
      format: 'JSONEachRow',
    });
    this.sealedThrough = checkpoint.to_seq;
    this.lastHash = checkpointHash(checkpoint);
    for (const listener of this.listeners) listener(checkpoint);
    return checkpoint;
  }
}

/** A checkpoint as SELECTed (created_at as epoch milliseconds). */
export interface CheckpointRow {
  collector_id: string;
  from_seq: string | number;
  to_seq: string | number;
  count: string | number;
  merkle_root: string;
  prev_hash: string;
  created_ms: string | number;
  key_id: string;
  signature: string;
}

export function checkpointOfRow(row: CheckpointRow): Checkpoint {
  return {
    collector_id: row.collector_id,
    from_seq: Number(row.from_seq),
    to_seq: Number(row.to_seq),
    count: Number(row.count),
    merkle_root: row.merkle_root,
    prev_hash: row.prev_hash,
    created_at: new Date(Number(row.created_ms)).toISOString(),
    key_id: row.key_id,
    signature: row.signature,
  };
}
