/**
 * Before the store is opened: a ClickHouse server that does not answer yet (still starting,
 * a network blip) is waited for with backoff, up to exporters.clickhouse.connect_timeout,
 * logging what it waits for; then start-up fails with one message. Errors that retrying
 * cannot fix (wrong password, unknown user) fail at once. The embedded store needs no wait.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { StoreConfig } from '../config/load.js';
import { StartupError } from '../errors.js';
import type { Logger } from '../log.js';
import { isEmbedded } from './clickhouse-client.js';
import { classifyStoreError } from './clickhouse-error.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

export async function waitForStore(config: StoreConfig, log: Logger): Promise<void> {
  if (isEmbedded(config.endpoint)) return;
  const deadline = Date.now() + config.connectTimeoutMs;
  const client = createClient({
    url: config.endpoint,
    username: config.username ?? 'default',
    password: config.password ?? '',
    application: 'audit-sidecar-start',
    request_timeout: Math.min(config.connectTimeoutMs, 10_000),
    // Failed attempts are reported below, once each, as our own log lines.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt++, delay = Math.min(delay * 2, MAX_DELAY_MS)) {
      try {
        await client.command({ query: 'SELECT 1' });
        if (attempt > 1) log.info('ClickHouse answered', { endpoint: config.endpoint, attempts: attempt });
        return;
      } catch (error) {
        const info = classifyStoreError(error);
        const reason = info?.message ?? (error as Error).message;
        if (info && !info.retryable) {
          throw new StartupError(`ClickHouse at ${config.endpoint} refused the connection: ${reason} (check exporters.clickhouse.username and password)`, { cause: error });
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new StartupError(
            `ClickHouse at ${config.endpoint} did not answer within ${config.connectTimeoutMs / 1000}s (${attempt} attempts; last: ${reason}); ` +
              'check that the server runs and exporters.clickhouse.endpoint, or raise exporters.clickhouse.connect_timeout',
            { cause: error },
          );
        }
        const wait = Math.min(delay, left);
        log.warn('waiting for ClickHouse', { endpoint: config.endpoint, attempt, error: reason, retry_in_ms: wait, gives_up_in_ms: left });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  } finally {
    await client.close();
  }
}
