/**
 * Loads otel-config.yaml: parse YAML, substitute `${env:…}`, validate, and resolve into the
 * shape components use. Every problem is reported at once, each with its key path.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema, crossReferenceProblems, problemOf, type RawConfig } from './schema.js';
import { substituteEnv, type Environment } from './env-substitution.js';
import { destinationSchema, toDestination, type Destination } from '../export/destination.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TokenConfig {
  token: string;
  tenant: string | undefined;
  scopes: ReadonlyArray<'ingest' | 'read' | 'admin'>;
}

export interface StoreConfig {
  endpoint: string;
  database: string;
  username: string | undefined;
  password: string | undefined;
  cluster: string | undefined;
  createSchema: boolean;
  insertTimeoutMs: number;
  retention: { defaultDays: number; tenants: Readonly<Record<string, number>> };
}

export interface SidecarConfig {
  collectorId: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  ingest: ListenAddress & {
    maxBodyBytes: number;
    maxDecompressedBytes: number;
    maxRecordsPerRequest: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    maxConnections: number;
  };
  /** Plain JSON audit events on /v1/audit; undefined when the receiver is not configured. */
  auditJson:
    | { profiles: Readonly<Record<string, Readonly<Record<string, string>>>>; maxRecordsPerRequest: number; maxDepth: number; maxStringLength: number }
    | undefined;
  batch: { maxRows: number; maxAgeMs: number; maxPendingRows: number };
  store: StoreConfig;
  /** The query/admin API listener (extensions.api); undefined when not configured. */
  api:
    | (ListenAddress & {
        allowPrivateDestinations: boolean;
        headersTimeoutMs: number;
        requestTimeoutMs: number;
        maxConnections: number;
        queryTimeoutMs: number;
        maxExportDays: number;
        stream: { heartbeatMs: number; maxBufferedBytes: number; slowClientMs: number };
        sql: { timeoutMs: number; maxResultRows: number; maxMemoryBytes: number };
      })
    | undefined;
  /** Downstream OTLP/HTTP receivers from `exporters: otlphttp/NAME` used by a pipeline. */
  destinations: Destination[];
  tokens: TokenConfig[];
  /** service.secrets: the key sealing destination header values at rest (see export/secrets.ts). */
  secrets: { key: string | undefined; keyFile: string; previousKeys: string[] };
}

function splitHostPort(endpoint: string): ListenAddress {
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(endpoint.slice(at + 1)) };
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[');
}

/** Validates an already-parsed document; exported for tests and for embedding. */
export function resolveConfig(document: unknown, env: Environment, source = 'config'): SidecarConfig {
  const substituted = substituteEnv(document ?? {}, env);
  const parsed = configSchema.safeParse(substituted);
  const problems = [...(parsed.success ? [] : parsed.error.issues.map((issue) => problemOf(issue))), ...crossReferenceProblems(substituted)].map(
    (issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`,
  );
  if (!parsed.success || problems.length > 0) throw new ConfigError(source, problems);
  return toSidecarConfig(parsed.data);
}

export async function loadConfigFile(path: string, env: Environment = process.env): Promise<SidecarConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(path, document.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  return resolveConfig(document.toJS(), env, path);
}

function destinationsOf(raw: RawConfig): Destination[] {
  const used = new Set(Object.values(raw.service.pipelines).flatMap((p) => p.exporters));
  return Object.entries(raw.exporters)
    .filter(([key]) => key.startsWith('otlphttp/') && used.has(key))
    .map(([key, value]) => toDestination(key.slice('otlphttp/'.length), destinationSchema.parse(value ?? {})));
}

function toSidecarConfig(raw: RawConfig): SidecarConfig {
  const http = raw.receivers.otlp?.protocols.http;
  const batch = raw.processors.batch ?? { send_batch_size: 5000, timeout: 200, max_pending_records: 200_000 };
  const clickhouse = raw.exporters.clickhouse;
  return {
    collectorId: raw.service.collector_id,
    logLevel: raw.service.telemetry.logs.level,
    ingest: {
      ...splitHostPort(http?.endpoint ?? '127.0.0.1:4318'),
      maxBodyBytes: http?.max_request_body_size ?? 64 * 1024 * 1024,
      maxDecompressedBytes: http?.max_decompressed_body_size ?? 20 * 1024 * 1024,
      maxRecordsPerRequest: http?.max_records_per_request ?? 100_000,
      requestTimeoutMs: http?.request_timeout ?? 30_000,
      headersTimeoutMs: http?.read_header_timeout ?? 10_000,
      maxConnections: http?.max_connections ?? 1024,
    },
    // Like a collector, a receiver runs only when a pipeline uses it.
    auditJson: (raw.receivers.audit_json && Object.values(raw.service.pipelines).some((p) => p.receivers.includes('audit_json')) && {
      profiles: raw.receivers.audit_json.profiles,
      maxRecordsPerRequest: raw.receivers.audit_json.max_records_per_request,
      maxDepth: raw.receivers.audit_json.max_depth,
      maxStringLength: raw.receivers.audit_json.max_string_length,
    }) || undefined,
    batch: { maxRows: batch.send_batch_size, maxAgeMs: batch.timeout, maxPendingRows: batch.max_pending_records },
    store: {
      endpoint: clickhouse.endpoint,
      database: clickhouse.database,
      username: clickhouse.username,
      password: clickhouse.password,
      cluster: clickhouse.cluster,
      createSchema: clickhouse.create_schema,
      insertTimeoutMs: clickhouse.insert_timeout,
      retention: { defaultDays: clickhouse.retention.default_days, tenants: clickhouse.retention.tenants },
    },
    api: raw.extensions.api && {
      ...splitHostPort(raw.extensions.api.endpoint),
      allowPrivateDestinations: raw.extensions.api.allow_private_destinations,
      headersTimeoutMs: raw.extensions.api.read_header_timeout,
      requestTimeoutMs: raw.extensions.api.request_timeout,
      maxConnections: raw.extensions.api.max_connections,
      queryTimeoutMs: raw.extensions.api.query_timeout,
      maxExportDays: raw.extensions.api.max_export_days,
      stream: {
        heartbeatMs: raw.extensions.api.stream.heartbeat,
        maxBufferedBytes: raw.extensions.api.stream.max_buffered_bytes,
        slowClientMs: raw.extensions.api.stream.slow_client_timeout,
      },
      sql: {
        timeoutMs: raw.extensions.api.sql.timeout,
        maxResultRows: raw.extensions.api.sql.max_result_rows,
        maxMemoryBytes: raw.extensions.api.sql.max_memory_usage,
      },
    },
    destinations: destinationsOf(raw),
    tokens: raw.auth.tokens.map((t) => ({ token: t.token, tenant: t.tenant, scopes: t.scopes })),
    secrets: {
      key: raw.service.secrets.key,
      keyFile: resolve(raw.service.secrets.key_file ?? join(clickhouse.endpoint.startsWith('embedded://') ? clickhouse.endpoint.slice('embedded://'.length) : 'data', 'secrets.key')),
      previousKeys: raw.service.secrets.previous_keys,
    },
  };
}
