import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFormat } from '@clickhouse/client';
import type { SidecarConfig } from '../config/load.js';
import { closeClients, embeddedPath, isEmbedded, openClient, StoreLockedError } from '../store/clickhouse-client.js';
import { API_FORMATS, formatRows } from './format-rows.js';
import { ANALYST_TABLES, checkAnalystSql } from '../store/analyst-sql.js';

export interface SqlOptions {
  format: string;
  /** Allow statements that change data; off by default. */
  write: boolean;
}

/** Rows as JSON lines, whichever path answers: the same output through the API and directly. */
export const DEFAULT_FORMAT = 'JSONEachRow';

function apiUrl(config: SidecarConfig): string | undefined {
  if (!config.api) return undefined;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${config.api.port}`;
}

/** The running sidecar's API, when one answers on extensions.api.endpoint. */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Through the API: read-only; the token comes from AUDIT_SIDECAR_TOKEN. */
async function viaApi(url: string, sql: string, format: string): Promise<number> {
  const token = process.env.AUDIT_SIDECAR_TOKEN;
  const response = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sql }),
  });
  const body = (await response.json().catch(() => ({}))) as { rows?: Array<Record<string, unknown>>; error?: string };
  if (!response.ok || !body.rows) {
    const hint = response.status === 401 || response.status === 403 ? ' (set AUDIT_SIDECAR_TOKEN to an admin token not bound to a tenant)' : '';
    process.stderr.write(`audit-sidecar sql: ${body.error ?? `the API answered ${response.status}`}${hint}\n`);
    return 1;
  }
  process.stdout.write(formatRows(body.rows, format)!);
  return 0;
}

/**
 * The process holding an embedded data directory, from the status file the engine keeps
 * while it runs ("PID: n"): checked before opening, so the user gets this message and not
 * the engine's raw "Cannot lock file".
 */
function holderOf(dataDir: string): number | undefined {
  let status: string;
  try {
    status = readFileSync(join(dataDir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(status)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * `audit-sidecar sql`: runs one statement and prints the result in `--format` (JSON lines
 * by default). When a sidecar is running (its API answers), through its read-only SQL
 * endpoint; otherwise directly on the store, saying so. With the embedded store the
 * direct path needs the data directory to itself.
 */
export async function runSql(config: SidecarConfig, sql: string, options: SqlOptions): Promise<number> {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(options.format)) {
    process.stderr.write(`audit-sidecar sql: invalid --format "${options.format}"\n`);
    return 2;
  }
  const url = options.write ? undefined : apiUrl(config);
  if (url && (await answers(url))) {
    if (!API_FORMATS.includes(options.format)) {
      process.stderr.write(`audit-sidecar sql: --format ${options.format} is not available through the API; use one of ${API_FORMATS.join(', ')}\n`);
      return 2;
    }
    return viaApi(url, sql, options.format);
  }
  if (isEmbedded(config.store.endpoint)) {
    const dataDir = embeddedPath(config.store.endpoint);
    const holder = holderOf(dataDir);
    if (holder !== undefined) {
      const where = url ? `its API did not answer at ${url}` : 'the config has no extensions.api';
      process.stderr.write(
        `audit-sidecar sql: the data directory ${dataDir} is in use by another process (pid ${holder}, a running sidecar?) and ${where}. ` +
          'Pass --config with that sidecar\'s config (or set AUDIT_API_ENDPOINT to its API), or stop it to query the directory directly.\n',
      );
      return 1;
    }
  }
  if (url) process.stderr.write(`audit-sidecar sql: no sidecar API answered at ${url}; querying ${config.store.endpoint} directly\n`);
  let client;
  try {
    client = openClient(config.store, 'audit-sidecar-sql');
  } catch (error) {
    if (error instanceof StoreLockedError) {
      process.stderr.write(`audit-sidecar sql: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const parser = options.write ? undefined : openClient(config.store, 'audit-sidecar-sql-parser');
  try {
    // Read-only runs what analysts may run through the API, checked the same way.
    const statement = parser ? await checkAnalystSql(parser, sql, { database: config.store.database, tables: ANALYST_TABLES }) : sql.replace(/;\s*$/, '');
    const result = await client.exec({
      query: statement,
      // default_format applies when the statement has no FORMAT clause of its own.
      clickhouse_settings: { default_format: options.format as DataFormat, ...(options.write ? {} : { readonly: '1' }) },
    });
    for await (const chunk of result.stream) process.stdout.write(chunk as Buffer);
    return 0;
  } catch (error) {
    process.stderr.write(`audit-sidecar sql: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  } finally {
    await closeClients(parser ? [client, parser] : [client], config.store.endpoint);
  }
}

/** The running sidecar's API, when one answers on extensions.api.endpoint. */
export async function runningApi(config: SidecarConfig): Promise<string | undefined> {
  const url = apiUrl(config);
  return url !== undefined && (await answers(url)) ? url : undefined;
}
