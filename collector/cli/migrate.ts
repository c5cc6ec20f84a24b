import type { SidecarConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import { migrate } from '../store/migrations.js';

/** `audit-sidecar migrate`: apply pending migrations, print what was applied. */
export async function runMigrate(config: SidecarConfig): Promise<number> {
  const log = createLogger(config.logLevel);
  const client = openClient(config.store, 'audit-sidecar-migrate');
  try {
    const applied = await migrate(client, config.store, log);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
    return 0;
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}
