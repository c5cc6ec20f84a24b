/**
 * `audit-sidecar verify`, `verify-proof` and `rotate-key`. verify reads the store directly
 * (a ClickHouse server, or the embedded data directory when no sidecar holds it) or, with
 * an embedded store in use by a running sidecar, asks its API. Exit code 0 only when clean.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SidecarConfig } from '../config/load.js';
import { KeyRing, parsePublicKeys, readPublicKeyDir } from '../integrity/keys.js';
import { verifyProof, type EventProof } from '../integrity/proof.js';
import { Verifier, type VerifyReport } from '../integrity/verify.js';
import { createLogger } from '../log.js';
import { closeClients, isEmbedded, openClient } from '../store/clickhouse-client.js';
import { migrate } from '../store/migrations.js';
import { runningApi } from './sql.js';

export interface VerifyArgs {
  from: string | undefined;
  to: string | undefined;
  tenant: string | undefined;
  publicKey: string | undefined;
}

async function keysFrom(file: string): Promise<Map<string, KeyObject>> {
  return new Map(parsePublicKeys(await readFile(file, 'utf8')).map((k) => [k.keyId, k.key]));
}

function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`--${name}: expected RFC 3339 or epoch milliseconds`);
  return ms;
}

function print(report: VerifyReport): number {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(report.ok ? `verify: clean (${report.checkpoints_checked} checkpoints, ${report.rows_intact} rows intact)\n` : 'verify: PROBLEMS FOUND (see the report)\n');
  return report.ok ? 0 : 1;
}

export async function runVerify(config: SidecarConfig, args: VerifyArgs): Promise<number> {
  const fromMs = parseTime(args.from, 'from');
  const toMs = parseTime(args.to, 'to');
  const api = isEmbedded(config.store.endpoint) ? await runningApi(config) : undefined;
  if (api) {
    if (args.publicKey) {
      process.stderr.write('audit-sidecar verify: a running sidecar holds the data directory; --public-key needs it stopped (or a ClickHouse server store)\n');
      return 2;
    }
    const query = new URLSearchParams(Object.entries({ from: args.from, to: args.to, tenant: args.tenant }).filter((e): e is [string, string] => e[1] !== undefined));
    const token = process.env.AUDIT_SIDECAR_TOKEN;
    const response = await fetch(`${api}/api/v1/integrity/verify?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!response.ok) {
      process.stderr.write(`audit-sidecar verify: the API answered ${response.status}${response.status === 401 ? ' (set AUDIT_SIDECAR_TOKEN to an admin token)' : ''}\n`);
      return 2;
    }
    return print((await response.json()) as VerifyReport);
  }
  const publicKeys = args.publicKey ? await keysFrom(args.publicKey) : await readPublicKeyDir(config.store.integrity.keyDirectory);
  const client = openClient(config.store, 'audit-sidecar-verify');
  try {
    if (config.store.createSchema) await migrate(client, config.store, createLogger('error'));
    const report = await new Verifier(client, config.store.database, { fromMs, toMs, tenant: args.tenant, publicKeys }).run();
    return print(report);
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}

/** Offline: the proof file and a trusted public key, nothing else. */
export async function runVerifyProof(file: string, publicKeyFile: string | undefined): Promise<number> {
  if (!publicKeyFile) {
    process.stderr.write('audit-sidecar verify-proof: give the trusted public key with --public-key FILE (GET /api/v1/integrity/keys)\n');
    return 2;
  }
  const proof = JSON.parse(await readFile(file, 'utf8')) as EventProof;
  const check = verifyProof(proof, await keysFrom(publicKeyFile));
  if (check.ok) process.stdout.write(`proof OK: event ${String(proof.row.event_id)} is in checkpoint ${proof.checkpoint.from_seq}..${proof.checkpoint.to_seq} signed by ${proof.checkpoint.key_id}\n`);
  else process.stdout.write(`proof FAILED:\n${check.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return check.ok ? 0 : 1;
}

/** A new signing key in the key directory; the old public key stays, so old checkpoints verify. */
export async function runRotateKey(config: SidecarConfig): Promise<number> {
  if (config.store.integrity.signingKey) {
    process.stderr.write('audit-sidecar rotate-key: the signing key comes from config; change exporters.clickhouse.integrity.signing_key instead (the old public key stays in the key directory)\n');
    return 2;
  }
  const keyId = await KeyRing.rotate(config.store.integrity.keyDirectory);
  process.stdout.write(`new signing key ${keyId} in ${config.store.integrity.keyDirectory}; restart the sidecar to sign with it\n`);
  return 0;
}
