/** The Merkle tree against RFC 6962's recursive definitions, and RFC 9162 inclusion checks. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inclusionPath, leafHash, merkleRoot, nodeHash, verifyInclusion } from '../collector/integrity/merkle.js';

const largestPowerOfTwoBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

/** MTH(D[n]) of RFC 6962 §2.1, over leaf hashes. */
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0]!;
  const k = largestPowerOfTwoBelow(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1. */
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

describe('merkle', () => {
  const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`row ${i}`)));
  it('roots and audit paths equal RFC 6962 for 0..40 leaves', () => {
    for (let n = 0; n <= 40; n++) {
      const d = leaves.slice(0, n);
      expect(merkleRoot(d).equals(mth(d))).toBe(true);
      for (let m = 0; m < n; m++) {
        const p = inclusionPath(d, m);
        expect(p.map((b) => b.toString('hex'))).toEqual(path(m, d).map((b) => b.toString('hex')));
        expect(verifyInclusion(d[m]!, m, n, p, mth(d))).toBe(true);
        expect(verifyInclusion(leafHash(Buffer.from('other')), m, n, p, mth(d))).toBe(false);
        if (n > 1) expect(verifyInclusion(d[m]!, (m + 1) % n, n, p, mth(d))).toBe(false);
      }
    }
  });
  it('uses the RFC 6962 prefixes: 0x00 for leaves, 0x01 for nodes', () => {
    const a = Buffer.from('a');
    expect(leafHash(a).equals(createHash('sha256').update(Buffer.from([0])).update(a).digest())).toBe(true);
    const [x, y] = [leafHash(a), leafHash(Buffer.from('b'))];
    expect(merkleRoot([x, y]).equals(createHash('sha256').update(Buffer.from([1])).update(x).update(y).digest())).toBe(true);
  });
});
