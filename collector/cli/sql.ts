import type { DataFormat } from '@clickhouse/client';
import type { SidecarConfig } from '../config/load.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';

export interface SqlOptions {
  format: string;
  /** Allow statements that change data; off by default. */
  write: boolean;
}

/**
 * `audit-sidecar sql`: runs one statement directly on the store and prints the result.
 * With the embedded store this needs the data directory to itself; while a sidecar runs
 * on it, opening fails with StoreLockedError, which says so.
 */
export async function runSql(config: SidecarConfig, sql: string, options: SqlOptions): Promise<number> {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(options.format)) {
    process.stderr.write(`audit-sidecar sql: invalid --format "${options.format}"\n`);
    return 2;
  }
  const client = openClient(config.store, 'audit-sidecar-sql');
  try {
    const result = await client.exec({
      query: sql.replace(/;\s*$/, ''),
      // default_format applies when the statement has no FORMAT clause of its own.
      clickhouse_settings: { default_format: options.format as DataFormat, ...(options.write ? {} : { readonly: '1' }) },
    });
    for await (const chunk of result.stream) process.stdout.write(chunk as Buffer);
    return 0;
  } catch (error) {
    process.stderr.write(`audit-sidecar sql: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}
