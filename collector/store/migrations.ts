/**
 * Versioned, idempotent migrations from clickhouse/migrations/NNNN_name.sql. Applied
 * versions are recorded in {database}.schema_migrations; every statement is itself
 * idempotent (IF NOT EXISTS), so a crash between a statement and its record is harmless.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoreConfig } from '../config/load.js';
import { projectRoot } from '../paths.js';
import type { Logger } from '../log.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Fills the {{tokens}} of a migration file for this store's database and cluster. */
export function renderMigration(sql: string, config: Pick<StoreConfig, 'database' | 'cluster'>): string {
  const replicated = config.cluster !== undefined;
  const tokens: Record<string, string> = {
    database: config.database,
    on_cluster: replicated ? `ON CLUSTER ${config.cluster}` : '',
    merge_tree: replicated ? 'ReplicatedMergeTree' : 'MergeTree',
    replacing_merge_tree: replicated ? 'ReplicatedReplacingMergeTree' : 'ReplacingMergeTree',
  };
  return sql.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = tokens[name];
    if (value === undefined) throw new Error(`unknown migration token ${whole}`);
    return value;
  });
}

function splitStatements(sql: string): string[] {
  return sql
    .replace(/^\s*--.*$/gm, '')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export async function loadMigrations(config: Pick<StoreConfig, 'database' | 'cluster'>): Promise<Migration[]> {
  const dir = join(projectRoot(), 'clickhouse', 'migrations');
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      statements: splitStatements(renderMigration(await readFile(join(dir, file), 'utf8'), config)),
    })),
  );
}

/** Applies every migration not yet recorded; returns the names applied. */
export async function migrate(client: ClickHouseClient, config: StoreConfig, log: Logger): Promise<string[]> {
  const migrations = await loadMigrations(config);
  const onCluster = config.cluster ? `ON CLUSTER ${config.cluster}` : '';
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database} ${onCluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${config.database}.schema_migrations ${onCluster}
      (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ${config.cluster ? 'ReplicatedMergeTree' : 'MergeTree'} ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT version FROM ${config.database}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    log.info('applying migration', { migration: migration.name });
    for (const statement of migration.statements) await client.command({ query: statement });
    await client.insert({
      table: `${config.database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name }],
      format: 'JSONEachRow',
    });
    done.push(migration.name);
  }
  return done;
}
