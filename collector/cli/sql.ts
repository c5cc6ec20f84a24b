import type { DataFormat } from '@clickhouse/client';
import type { SidecarConfig } from '../config/load.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import { ANALYST_TABLES, checkAnalystSql } from '../store/analyst-sql.js';

export interface SqlOptions {
  format: string;
  /** Allow statements that change data; off by default. */
  write: boolean;
}

/** The running sidecar's API, when one answers on extensions.api.endpoint. */
async function runningApi(config: SidecarConfig): Promise<string | undefined> {
  if (!config.api) return undefined;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${config.api.port}`;
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Through the API: read-only, rows printed as JSON lines. The token comes from AUDIT_SIDECAR_TOKEN. */
async function viaApi(url: string, sql: string): Promise<number> {
  const token = process.env.AUDIT_SIDECAR_TOKEN;
  const response = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sql }),
  });
  const body = (await response.json()) as { rows?: unknown[]; error?: string };
  if (!response.ok || !body.rows) {
    process.stderr.write(`audit-sidecar sql: ${body.error ?? `the API answered ${response.status}`}${response.status === 401 ? ' (set AUDIT_SIDECAR_TOKEN to an admin token)' : ''}\n`);
    return 1;
  }
  for (const row of body.rows) process.stdout.write(`${JSON.stringify(row)}\n`);
  return 0;
}

/**
 * `audit-sidecar sql`: runs one statement and prints the result. When a sidecar is running
 * (its API answers), through its read-only SQL endpoint; otherwise directly on the store.
 * With the embedded store the direct path needs the data directory to itself; if another
 * process holds it, opening fails with StoreLockedError, which says so.
 */
export async function runSql(config: SidecarConfig, sql: string, options: SqlOptions): Promise<number> {
  const api = options.write ? undefined : await runningApi(config);
  if (api) return viaApi(api, sql);
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(options.format)) {
    process.stderr.write(`audit-sidecar sql: invalid --format "${options.format}"\n`);
    return 2;
  }
  const client = openClient(config.store, 'audit-sidecar-sql');
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
    process.stderr.write(`audit-sidecar sql: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await closeClients(parser ? [client, parser] : [client], config.store.endpoint);
  }
}
