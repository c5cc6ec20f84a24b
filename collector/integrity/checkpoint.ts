/**
 * A checkpoint seals one load of the loader: the Merkle root over the leaves of its rows
 * (ingest_seq from..to of one collector, `count` rows), chained to the checkpoint before it
 * and signed with Ed25519.
 *
 * What is signed (and hashed into the next checkpoint's prev_hash) is this text, UTF-8,
 * one field a line, each line ending in \n:
 *
 *   audit-sidecar checkpoint v1
 *   <collector_id>
 *   <from_seq>            decimal
 *   <to_seq>              decimal
 *   <count>               decimal
 *   <merkle_root>         64 lowercase hex digits
 *   <prev_hash>           64 lowercase hex digits (SHA-256 of the previous checkpoint's text; zeros for the first)
 *   <created_at>          RFC 3339, milliseconds, Z
 *   <key_id>
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { sha256 } from './merkle.js';

export interface Checkpoint {
  collector_id: string;
  from_seq: number;
  to_seq: number;
  count: number;
  merkle_root: string;
  prev_hash: string;
  created_at: string;
  key_id: string;
  /** Base64 Ed25519 signature of checkpointText(). */
  signature: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function checkpointText(c: Omit<Checkpoint, 'signature'>): string {
  return ['audit-sidecar checkpoint v1', c.collector_id, c.from_seq, c.to_seq, c.count, c.merkle_root, c.prev_hash, c.created_at, c.key_id].map((v) => `${v}\n`).join('');
}

/** What the next checkpoint's prev_hash holds. */
export const checkpointHash = (c: Omit<Checkpoint, 'signature'>): string => sha256(Buffer.from(checkpointText(c), 'utf8')).toString('hex');

export function signCheckpoint(c: Omit<Checkpoint, 'signature'>, key: KeyObject): Checkpoint {
  return { ...c, signature: sign(null, Buffer.from(checkpointText(c), 'utf8'), key).toString('base64') };
}

export function signatureValid(c: Checkpoint, key: KeyObject | undefined): boolean {
  if (!key) return false;
  try {
    return verify(null, Buffer.from(checkpointText(c), 'utf8'), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}
