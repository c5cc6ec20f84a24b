/** The embedded store's endpoint form, `embedded://PATH` (kept apart so config can use it without loading chDB). */
import { resolve } from 'node:path';

const EMBEDDED_PREFIX = 'embedded://';

export function isEmbedded(endpoint: string): boolean {
  return endpoint.startsWith(EMBEDDED_PREFIX);
}

/** `embedded://./data` -> absolute path of ./data relative to the working directory. */
export function embeddedPath(endpoint: string): string {
  return resolve(endpoint.slice(EMBEDDED_PREFIX.length));
}
