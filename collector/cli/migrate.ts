import type { SidecarConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import { migrate } from '../store/migrations.js';
import { waitForStore } from '../store/wait-for-store.js';

/** `audit-sidecar migrate`: apply pending migrations, print what was applied. */
export async function runMigrate(config: SidecarConfig): Promise<number> {
  const log = createLogger(config.logLevel);
  await waitForStore(config.store, log); // a server: waits up to connect_timeout, as start does
  const client = openClient(config.store, 'audit-sidecar-migrate');
  try {
    const applied = await migrate(client, config.store, log);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
    return 0;
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}
