/**
 * Merkle trees as RFC 6962 (certificate transparency) defines them: a leaf is
 * SHA-256(0x00 || data), an inner node SHA-256(0x01 || left || right), and a tree of n
 * leaves splits at the largest power of two below n. Pairing neighbours level by level and
 * carrying a lone last node up unchanged builds exactly that tree. Inclusion proofs are
 * RFC 6962 audit paths, checked with the algorithm of RFC 9162 §2.1.3.2.
 */
import { createHash, hash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const sha256 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const leafHash = (data: Buffer): Buffer => sha256(LEAF, data);
export const nodeHash = (left: Buffer, right: Buffer): Buffer => sha256(NODE, left, right);

/** The root of the tree over `leaves` (leaf hashes, in order); SHA-256("") for none. */
export function merkleRoot(leaves: ReadonlyArray<Buffer>): Buffer {
  if (leaves.length === 0) return sha256();
  // One-shot hashes of 0x01 || left || right in one scratch buffer: a Hash object a node
  // costs more than the hashing (a tree has as many nodes as leaves).
  const scratch = Buffer.alloc(65);
  scratch[0] = 1;
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      level[i]!.copy(scratch, 1);
      level[i + 1]!.copy(scratch, 33);
      next.push(hash('sha256', scratch, 'buffer'));
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** The audit path of leaf `index`: sibling hashes from the bottom up. */
export function inclusionPath(leaves: ReadonlyArray<Buffer>, index: number): Buffer[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  const path: Buffer[] = [];
  let level = leaves.slice();
  let at = index;
  while (level.length > 1) {
    const sibling = at ^ 1;
    if (sibling < level.length) path.push(level[sibling]!);
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
    at >>= 1;
  }
  return path;
}

/** RFC 9162 §2.1.3.2: true when `path` proves leaf `index` of a `size`-leaf tree has root `root`. */
export function verifyInclusion(leaf: Buffer, index: number, size: number, path: ReadonlyArray<Buffer>, root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}
