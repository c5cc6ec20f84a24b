/** Integrity's entries: the sealer for the store (with its key ring), and what starts once the store is open. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { SidecarConfig, StoreConfig } from '../config/load.js';
import { applyRetentionAtStart } from '../store/retention.js';
import { startAnchoring } from './anchor.js';
import type { Logger } from '../log.js';
import { KeyRing } from './keys.js';
import { Sealer } from './sealer.js';

export type { Sealer };

export async function openSealer(client: ClickHouseClient, config: StoreConfig, collectorId: string, log: Logger): Promise<Sealer | undefined> {
  if (!config.integrity.enabled) return undefined;
  const keys = await KeyRing.open(config.integrity.keyDirectory, config.integrity.signingKey);
  log.info('integrity: signing checkpoints', { key_id: keys.activeKeyId, key_directory: config.integrity.keyDirectory });
  return Sealer.open({ client, database: config.database, collectorId, keys, log, insertTimeoutMs: config.insertTimeoutMs });
}

/** After the store opens: retention applied to stored rows, and checkpoints anchored to their destinations. */
export async function startIntegrity(store: { sealer: Sealer | undefined; readClient: ClickHouseClient }, config: SidecarConfig, log: Logger): Promise<void> {
  await applyRetentionAtStart(store.readClient, config.store.database, config.store.retention, log);
  if (store.sealer) {
    await startAnchoring({
      sealer: store.sealer,
      destinations: config.destinations,
      client: store.readClient,
      database: config.store.database,
      collectorId: config.collectorId,
      keyDirectory: config.store.integrity.keyDirectory,
      log,
    });
  }
}
