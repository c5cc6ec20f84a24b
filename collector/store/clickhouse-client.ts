/**
 * One code path for both stores: `@clickhouse/client` talks HTTP to a server, or to the
 * embedded engine through chDB's Connection implementation. Only construction differs.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import type { StoreConfig } from '../config/load.js';
import { EmbeddedConnection } from './embedded-connection.js';
import { embeddedPath, isEmbedded } from './embedded-path.js';


/**
 * chDB implements the client's Connection contract, but types it against its own copy of
 * @clickhouse/client-common, whose settings type differs in name only.
 */
type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export class StoreLockedError extends Error {
  constructor(readonly path: string) {
    super(
      `the data directory ${path} is in use by another process (a running sidecar?). ` +
        'Stop it first, or query through its API.',
    );
    this.name = 'StoreLockedError';
  }
}

export { embeddedPath, isEmbedded };

/**
 * Opens a client. Each caller role (ingest commits, readers) gets its own: one connection
 * runs one statement at a time, so sharing would let a slow reader stall ingest.
 */
export function openClient(config: StoreConfig, application: string): ClickHouseClient {
  if (isEmbedded(config.endpoint)) {
    const path = embeddedPath(config.endpoint);
    try {
      return createClient({ connection: new EmbeddedConnection({ path }) as unknown as ClientConnection });
    } catch (error) {
      // libchdb reports "Cannot lock file" on stderr; the error itself only says it failed.
      if (/lock|Failed to create connection/i.test(String((error as Error).message))) throw new StoreLockedError(path);
      throw error;
    }
  }
  return createClient({
    url: config.endpoint,
    username: config.username ?? 'default',
    password: config.password ?? '',
    application,
    request_timeout: config.insertTimeoutMs,
    // Failures reach us as errors and are logged once, as JSON lines; the client's own lines would repeat them per retry.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * Closes clients; for the embedded engine also waits until libchdb has nothing pending,
 * because a process that exits with a session open can abort inside libchdb.
 */
export async function closeClients(clients: ReadonlyArray<ClickHouseClient>, endpoint: string): Promise<void> {
  await Promise.allSettled(clients.map((client) => client.close()));
  if (isEmbedded(endpoint)) await drainPending();
}
