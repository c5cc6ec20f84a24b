import type { SidecarConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import { migrate } from '../store/migrations.js';
import { applyRetention } from '../store/retention.js';

/** `audit-sidecar retention apply`: the retention policy in config applied to stored rows (the sidecar also does it at start). */
export async function runRetentionApply(config: SidecarConfig): Promise<number> {
  const client = openClient(config.store, 'audit-sidecar-retention');
  try {
    if (config.store.createSchema) await migrate(client, config.store, createLogger('error'));
    const applied = await applyRetention(client, config.store.database, config.store.retention);
    process.stdout.write(`${JSON.stringify(applied)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`audit-sidecar retention apply: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}
