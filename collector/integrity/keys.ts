/**
 * Signing keys. The active Ed25519 private key is the one in config
 * (exporters.clickhouse.integrity.signing_key, PEM, typically `${env:…}`) or else
 * `<key_directory>/signing-key.pem`, created at first start with mode 0600. Every public
 * key ever active stays in `<key_directory>/public-keys/<key_id>.pem` (and in
 * audit.signing_keys), so checkpoints signed before a rotation still verify.
 * key_id: the first 16 hex digits of SHA-256 of the public key's DER (SPKI) encoding.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from './merkle.js';

export const keyIdOf = (publicKey: KeyObject): string => sha256(publicKey.export({ type: 'spki', format: 'der' })).toString('hex').slice(0, 16);

export const publicPem = (publicKey: KeyObject): string => publicKey.export({ type: 'spki', format: 'pem' }).toString();

const PRIVATE_FILE = 'signing-key.pem';
const PUBLIC_DIR = 'public-keys';

export class KeyError extends Error {}

export interface PublicKeyEntry {
  keyId: string;
  key: KeyObject;
}

/** Every PEM public key (or a private key's public half) in `text`. */
export function parsePublicKeys(text: string): PublicKeyEntry[] {
  const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
  return blocks.map((pem) => {
    const key = /PRIVATE/.test(pem) ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new KeyError(`not an Ed25519 key (${key.asymmetricKeyType})`);
    return { keyId: keyIdOf(key), key };
  });
}

export class KeyRing {
  private constructor(
    readonly activeKeyId: string,
    private readonly privateKey: KeyObject,
    readonly publicKeys: ReadonlyMap<string, KeyObject>,
  ) {}

  get signingKey(): KeyObject {
    return this.privateKey;
  }

  /** Loads (creating at first start) the active key and every public key kept. */
  static async open(directory: string, configuredPem?: string): Promise<KeyRing> {
    await mkdir(join(directory, PUBLIC_DIR), { recursive: true, mode: 0o700 });
    let privateKey: KeyObject;
    if (configuredPem) {
      try {
        privateKey = createPrivateKey(configuredPem);
      } catch (error) {
        throw new KeyError(`exporters.clickhouse.integrity.signing_key: not a PEM private key (${(error as Error).message})`);
      }
    } else {
      const file = join(directory, PRIVATE_FILE);
      try {
        privateKey = createPrivateKey(await readFile(file, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        privateKey = await KeyRing.create(file);
      }
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyError(`the signing key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
    const publicKey = createPublicKey(privateKey);
    const keyId = keyIdOf(publicKey);
    const publicFile = join(directory, PUBLIC_DIR, `${keyId}.pem`);
    await writeFile(publicFile, publicPem(publicKey), { flag: 'w', mode: 0o644 });
    return new KeyRing(keyId, privateKey, await readPublicKeyDir(directory));
  }

  /** A new private key in place of the old one (whose public key is kept); returns the new key_id. */
  static async rotate(directory: string): Promise<string> {
    await mkdir(join(directory, PUBLIC_DIR), { recursive: true, mode: 0o700 });
    const file = join(directory, PRIVATE_FILE);
    const next = `${file}.next`;
    const key = await KeyRing.create(next);
    await rename(next, file);
    const publicKey = createPublicKey(key);
    await writeFile(join(directory, PUBLIC_DIR, `${keyIdOf(publicKey)}.pem`), publicPem(publicKey), { mode: 0o644 });
    return keyIdOf(publicKey);
  }

  private static async create(file: string): Promise<KeyObject> {
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { flag: 'wx', mode: 0o600 });
    await chmod(file, 0o600);
    return privateKey;
  }
}

/** The public keys kept in `<directory>/public-keys`. */
export async function readPublicKeyDir(directory: string): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  let names: string[] = [];
  try {
    names = await readdir(join(directory, PUBLIC_DIR));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const name of names.filter((n) => n.endsWith('.pem')).sort()) {
    for (const entry of parsePublicKeys(await readFile(join(directory, PUBLIC_DIR, name), 'utf8'))) keys.set(entry.keyId, entry.key);
  }
  return keys;
}
