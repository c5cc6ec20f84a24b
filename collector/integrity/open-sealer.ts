/** The store's one entry to integrity: the key ring and the sealer, when integrity is on. */
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoreConfig } from '../config/load.js';
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
