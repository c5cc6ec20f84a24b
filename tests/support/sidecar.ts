/**
 * Starts a real sidecar in this test process (one per file: chDB allows one data
 * directory per process) on an ephemeral port, with its embedded store in a fresh
 * temporary directory.
 */
import { mkdtempSync } from 'node:fs';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type SidecarConfig } from '../../collector/config/load.js';
import { silentLogger, type Logger } from '../../collector/log.js';
import { startSidecar, type Sidecar } from '../../collector/sidecar.js';

export function tempDir(prefix = 'audit-sidecar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestConfigOptions {
  dataDir: string;
  collectorId?: string;
  batch?: Record<string, unknown>;
  http?: Record<string, unknown>;
  retention?: Record<string, unknown>;
  tokens?: Array<Record<string, unknown>>;
  auditJson?: Record<string, unknown>;
  /** extensions.api; the API listener runs on an ephemeral port when given. */
  api?: Record<string, unknown>;
  /** otlphttp/NAME exporters: NAME -> config. */
  destinations?: Record<string, Record<string, unknown>>;
  /** exporters.clickhouse.endpoint, e.g. a test server's url (clickhouse-http.ts); default embedded in dataDir. */
  storeEndpoint?: string;
  /** service.ingest_log (its directory defaults to dataDir/ingest-log, also for a server store). */
  ingestLog?: Record<string, unknown>;
  /** service.shutdown_timeout (default 30s). */
  shutdownTimeout?: string;
}

export function testConfig(options: TestConfigOptions): SidecarConfig {
  return resolveConfig(
    {
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0', ...options.http } } }, audit_json: options.auditJson ?? {} },
      processors: { normalize: {}, batch: { send_batch_size: 1000, timeout: '20ms', ...options.batch } },
      exporters: {
        clickhouse: { endpoint: options.storeEndpoint ?? `embedded://${options.dataDir}`, database: 'audit', retention: options.retention ?? { default_days: 90 } },
        ...Object.fromEntries(Object.entries(options.destinations ?? {}).map(([name, d]) => [`otlphttp/${name}`, d])),
      },
      auth: { tokens: options.tokens ?? [] },
      // The sidecar's own trail (record_access) is off unless a test asks for it: the API's own
      // events would otherwise change the counts tests about other things check.
      ...(options.api ? { extensions: { api: { endpoint: '127.0.0.1:0', record_access: false, ...options.api } } } : {}),
      service: {
        collector_id: options.collectorId ?? 'test',
        ingest_log: { directory: join(options.dataDir, 'ingest-log'), ...options.ingestLog },
        ...(options.shutdownTimeout ? { shutdown_timeout: options.shutdownTimeout } : {}),
        pipelines: {
          'logs/audit': {
            receivers: ['otlp', 'audit_json'],
            processors: ['normalize', 'batch'],
            exporters: ['clickhouse', ...Object.keys(options.destinations ?? {}).map((name) => `otlphttp/${name}`)],
          },
        },
      },
    },
    {},
  );
}

export async function startTestSidecar(options: TestConfigOptions, log: Logger = silentLogger): Promise<Sidecar> {
  return startSidecar(testConfig(options), log);
}

/**
 * Runs a SELECT on the sidecar's read connection and returns the rows; like the API, it
 * first waits until everything acknowledged is loaded into ClickHouse.
 */
export async function queryRows<T = Record<string, unknown>>(
  sidecar: Sidecar,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  await sidecar.store.readable(10_000);
  const result = await sidecar.store.readClient.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

export async function countRows(sidecar: Sidecar, where = '1'): Promise<number> {
  const [row] = await queryRows<{ n: string }>(sidecar, `SELECT count() AS n FROM audit.events WHERE ${where}`);
  return Number(row?.n ?? 0);
}

/** POSTs canonical JSON audit events to the sidecar's ingest listener and expects them taken. */
export async function ingestCanonical(sidecar: Sidecar, token: string, records: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(records),
  });
  expect(response.status).toBe(200);
}
