/**
 * Destination header values at rest: sealed with AES-256-GCM before they are written to
 * ClickHouse, so neither SQL nor a copy of the tables reveals them. The key comes from
 * `service.secrets.key` (use `${env:…}`), else from a key file made once with mode 0600 in
 * the data directory. A sealed value names its key (the first bytes of the key's SHA-256),
 * so values under a previous key (`service.secrets.previous_keys`) still open and are
 * sealed again under the current one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const PREFIX = 'aes256gcm:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** A key as configured: 64 hex digits or the base64 of 32 bytes. */
export function parseKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new SecretKeyError(`${where}: expected 32 bytes as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  return key;
}

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  constructor(current: Buffer, previous: ReadonlyArray<Buffer> = []) {
    this.currentId = keyId(current);
    for (const key of [current, ...previous]) this.keys.set(keyId(key), key);
  }

  /** `context` (destination id and header name) is bound to the value: a value moved elsewhere does not open. */
  seal(value: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.currentId}:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  /** The value, and whether it should be sealed again (a previous key, or stored in clear by an older version). */
  open(stored: string, context: string): { value: string; stale: boolean } {
    if (!stored.startsWith(PREFIX)) return { value: stored, stale: true };
    const [id, data] = stored.slice(PREFIX.length).split(':');
    const key = this.keys.get(id ?? '');
    if (!key || data === undefined) {
      throw new SecretKeyError(`a stored secret was sealed with key ${id}, which is neither service.secrets.key nor in service.secrets.previous_keys`);
    }
    const bytes = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      const value = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      return { value, stale: id !== this.currentId };
    } catch {
      throw new SecretKeyError(`a stored secret does not open with key ${id}: it was altered or moved`);
    }
  }
}

/** The key file's key, made (32 random bytes, mode 0600) when the file does not exist. */
export async function keyFromFile(path: string): Promise<Buffer> {
  try {
    return parseKey(await readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parseKey(await readFile(path, 'utf8'), path);
    throw error;
  }
}

/** The SecretBox for service.secrets: the configured key, else the key file's. */
export async function loadSecretBox(config: { key: string | undefined; keyFile: string; previousKeys: ReadonlyArray<string> }): Promise<SecretBox> {
  const current = config.key !== undefined ? parseKey(config.key, 'service.secrets.key') : await keyFromFile(config.keyFile);
  return new SecretBox(current, config.previousKeys.map((k, i) => parseKey(k, `service.secrets.previous_keys[${i}]`)));
}

/**
 * The process's SecretBox. Installed once at start (sidecar.ts) rather than passed down,
 * so the destination store gets it without changing who constructs the store.
 */
let installed: SecretBox | undefined;

export function installSecretBox(box: SecretBox): void {
  installed = box;
}

export function secretBox(): SecretBox {
  if (!installed) throw new SecretKeyError('no secrets key loaded (installSecretBox is called at start)');
  return installed;
}
