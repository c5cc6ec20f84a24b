import { createHash } from 'node:crypto';

/**
 * The event id of a record whose source gave none: a hash of what identifies it, so
 * the same record sent again gets the same id, and different records never share one.
 */
export function contentHashId(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 32);
}
