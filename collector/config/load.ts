/**
 * Loads otel-config.yaml: parse YAML, substitute `${env:…}`, validate, and resolve into the
 * shape components use. Every problem is reported at once, each with its key path.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema, crossReferenceProblems, problemOf, type RawConfig } from './schema.js';
import { substituteEnv, type Environment, type MissingVariable } from './env-substitution.js';
import { destinationSchema, toDestination, type Destination } from '../export/destination.js';
import { embeddedPath, isEmbedded } from '../store/embedded-path.js';

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
  /** The token's name in the sidecar's own trail; default token-N. */
  name?: string;
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
  /** Server only: how long start-up waits for it to answer. */
  connectTimeoutMs: number;
  retention: RetentionConfig;
  integrity: { enabled: boolean; signingKey: string | undefined; keyDirectory: string };
}

export interface RetentionConfig {
  defaultDays: number;
  tenants: Readonly<Record<string, number>>;
  holds: ReadonlyArray<{ tenant: string; reason: string; until: string }>;
}

export interface IngestLogConfig {
  directory: string;
  ack: 'durable' | 'stored';
  maxBytes: number;
  segmentBytes: number;
  storedTimeoutMs: number;
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
  ingestLog: IngestLogConfig;
  shutdownTimeoutMs: number;
  store: StoreConfig;
  /** The query/admin API listener (extensions.api); undefined when not configured. */
  api:
    | (ListenAddress & {
        allowPrivateDestinations: boolean;
        recordAccess: boolean;
        headersTimeoutMs: number;
        requestTimeoutMs: number;
        maxConnections: number;
        queryTimeoutMs: number;
        maxExportDays: number;
        stream: { heartbeatMs: number; maxBufferedBytes: number; slowClientMs: number };
        sql: { timeoutMs: number; maxResultRows: number; maxMemoryBytes: number };
        exports: { keepMs: number; maxAgeMs: number; maxWindowMs: number; directory: string; pageRows: number };
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
  const missing: MissingVariable[] = [];
  const substituted = substituteEnv(document ?? {}, env, missing);
  const parsed = configSchema.safeParse(substituted);
  const unset = missing.map((m) => ({ path: m.path, message: `the environment variable ${m.name} is not set (set it, or write \${env:${m.name}:-default})` }));
  // A value made empty by an unset variable fails the schema too; its cause is enough.
  const unsetPaths = new Set(unset.map((m) => formatPath(m.path)));
  const schemaProblems = (parsed.success ? [] : parsed.error.issues.map((issue) => problemOf(issue))).filter((p) => !unsetPaths.has(formatPath(p.path)));
  const problems = [...unset, ...schemaProblems, ...crossReferenceProblems(substituted)].map(
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
  // One syntax error makes the parser report several; the first is the one to fix.
  const [syntax] = document.errors;
  if (syntax) {
    const at = syntax.linePos?.[0];
    const message = syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(path, [`YAML syntax error${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${message}`]);
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
  const batch = raw.processors.batch ?? { send_batch_size: 20_000, timeout: 1_000, max_pending_records: 200_000 };
  const log = raw.service.ingest_log;
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
    ingestLog: {
      directory: resolve(log.directory ?? join(isEmbedded(clickhouse.endpoint) ? embeddedPath(clickhouse.endpoint) : 'data', 'ingest-log')),
      ack: log.ack,
      maxBytes: log.max_size,
      segmentBytes: Math.min(log.segment_size, log.max_size),
      storedTimeoutMs: log.stored_timeout,
    },
    shutdownTimeoutMs: raw.service.shutdown_timeout,
    store: {
      endpoint: clickhouse.endpoint,
      database: clickhouse.database,
      username: clickhouse.username,
      password: clickhouse.password,
      cluster: clickhouse.cluster,
      createSchema: clickhouse.create_schema,
      insertTimeoutMs: clickhouse.insert_timeout,
      connectTimeoutMs: clickhouse.connect_timeout,
      retention: { defaultDays: clickhouse.retention.default_days, tenants: clickhouse.retention.tenants, holds: clickhouse.retention.holds },
      integrity: {
        enabled: clickhouse.integrity.enabled,
        signingKey: clickhouse.integrity.signing_key,
        // Beside the ingest log unless given: under the embedded data directory by default.
        keyDirectory: resolve(clickhouse.integrity.key_directory ?? join(dirname(resolve(log.directory ?? join(isEmbedded(clickhouse.endpoint) ? embeddedPath(clickhouse.endpoint) : 'data', 'ingest-log'))), 'integrity')),
      },
    },
    api: raw.extensions.api && {
      ...splitHostPort(raw.extensions.api.endpoint),
      allowPrivateDestinations: raw.extensions.api.allow_private_destinations,
      recordAccess: raw.extensions.api.record_access,
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
      exports: {
        keepMs: raw.extensions.api.exports.keep,
        maxAgeMs: raw.extensions.api.exports.max_age,
        maxWindowMs: raw.extensions.api.exports.max_window,
        directory: resolve(raw.extensions.api.exports.directory ?? join(clickhouse.endpoint.startsWith('embedded://') ? clickhouse.endpoint.slice('embedded://'.length) : 'data', 'exports')),
        pageRows: raw.extensions.api.exports.page_rows,
      },
    },
    destinations: destinationsOf(raw),
    tokens: raw.auth.tokens.map((t, i) => ({ name: t.name ?? `token-${i + 1}`, token: t.token, tenant: t.tenant, scopes: t.scopes })),
    secrets: {
      key: raw.service.secrets.key,
      keyFile: resolve(raw.service.secrets.key_file ?? join(clickhouse.endpoint.startsWith('embedded://') ? clickhouse.endpoint.slice('embedded://'.length) : 'data', 'secrets.key')),
      previousKeys: raw.service.secrets.previous_keys,
    },
  };
}
