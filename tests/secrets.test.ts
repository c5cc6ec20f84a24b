/** Sealing destination header values: round trip, key rotation, tampering, the key file. */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFromFile, parseKey, SecretBox, SecretKeyError } from '../collector/export/secrets.js';
import { tempDir } from './support/sidecar.js';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);

  it('seals so the value does not show, and opens it again', () => {
    const sealed = box.seal('Bearer s3cr3t', 'destination d header authorization');
    expect(sealed).not.toContain('s3cr3t');
    expect(box.seal('Bearer s3cr3t', 'destination d header authorization')).not.toBe(sealed); // fresh IV
    expect(box.open(sealed, 'destination d header authorization')).toEqual({ value: 'Bearer s3cr3t', stale: false });
  });

  it('refuses a value moved to another destination or altered', () => {
    const sealed = box.seal('v', 'destination a header x');
    expect(() => box.open(sealed, 'destination b header x')).toThrow(SecretKeyError);
    expect(() => box.open(`${sealed.slice(0, -4)}AAAA`, 'destination a header x')).toThrow(SecretKeyError);
  });

  it('rotates: a value under a previous key opens and is marked for sealing again; a clear value too', () => {
    const next = new SecretBox(randomBytes(32), [key]);
    expect(next.open(box.seal('v', 'c'), 'c')).toEqual({ value: 'v', stale: true });
    expect(next.open('legacy clear value', 'c')).toEqual({ value: 'legacy clear value', stale: true });
    expect(() => new SecretBox(randomBytes(32)).open(box.seal('v', 'c'), 'c')).toThrow(/neither service.secrets.key nor/);
  });

  it('takes keys as 64 hex digits or base64 of 32 bytes', () => {
    expect(parseKey(key.toString('hex'), 'k')).toEqual(key);
    expect(parseKey(key.toString('base64'), 'k')).toEqual(key);
    expect(() => parseKey('short', 'service.secrets.key')).toThrow(/service.secrets.key: expected 32 bytes/);
  });

  it('makes the key file once, mode 0600', async () => {
    const path = join(tempDir(), 'nested', 'secrets.key');
    const made = await keyFromFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await keyFromFile(path)).toEqual(made);
    expect(parseKey(readFileSync(path, 'utf8'), path)).toEqual(made);
  });
});
