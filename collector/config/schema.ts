/**
 * The configuration schema: defaults live here, next to the doc of each key, and
 * validation reports every problem with its key path (see load.ts).
 */
import { z } from 'zod';
import { count, duration, size } from './zod-units.js';
import { isProfileColumn, MAPPABLE_COLUMNS } from '../../pipelines/json/configured.js';
import { parseJsonPath } from '../../pipelines/json/json-path.js';
import { destinationSchema } from '../export/destination.js';

const BUILT_IN_PROFILES = ['canonical', 'betterstack', 'retraced', 'cloudevents', 'workos'];

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;

/** host:port; port 0 picks a free port (tests). */
const endpoint = (fallback: string) =>
  z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:4318')
    .default(fallback);

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier (letters, digits, _)');

const httpReceiver = z.strictObject({
  endpoint: endpoint('127.0.0.1:4318'),
  /** Largest request body as sent on the wire (compressed or not). */
  max_request_body_size: size(64 * MiB),
  /** Largest body after decompression; inflation stops at this size (the OpenTelemetry Collector's default). */
  max_decompressed_body_size: size(20 * MiB),
  /** Largest number of log records in one request. */
  max_records_per_request: count(100_000),
  /** Time a client has to send its request body. */
  request_timeout: duration(30_000),
  /** Time a client has to send a request's headers. */
  read_header_timeout: duration(10_000),
  /** Connections open at once on the ingest listener; more are closed on accept. */
  max_connections: count(1024),
});

const otlpReceiver = z.strictObject({
  protocols: z.strictObject({ http: httpReceiver.default(httpReceiver.parse({})) }).default({ http: httpReceiver.parse({}) }),
});

const auditJsonReceiver = z
  .strictObject({
    /** Profiles of your own: name -> { column: "$.json.path" }. */
    profiles: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'profile names are lowercase letters, digits, _ and -'), z.record(z.string(), z.string())).default({}),
    /** Records in one request (an array or NDJSON lines). */
    max_records_per_request: count(10_000),
    /** Deepest nesting of objects and arrays in one record. */
    max_depth: count(32, 10_000),
    /** Longest string (value or key) in one record. */
    max_string_length: count(65_536),
  })
  .superRefine((receiver, ctx) => {
    for (const [name, mapping] of Object.entries(receiver.profiles)) {
      if (BUILT_IN_PROFILES.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['profiles', name], message: `"${name}" is a built-in profile; choose another name` });
      }
      for (const [column, path] of Object.entries(mapping)) {
        if (!isProfileColumn(column)) {
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', name, column],
            message: `not a column a profile can map (${[...Object.keys(MAPPABLE_COLUMNS), 'occurred_at', 'changes', 'metadata'].join(', ')})`,
          });
          continue;
        }
        const parsed = parseJsonPath(path);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', path: ['profiles', name, column], message: `invalid JSON path: ${parsed}` });
      }
    }
  });

const batchProcessor = z.strictObject({
  /** Rows the loader puts in one ClickHouse insert at most. */
  send_batch_size: count(20_000, 1_000_000),
  /** Longest a record waits in the ingest log before the loader inserts it. */
  timeout: duration(1_000),
  /** Rows accepted but not yet written to the ingest log before ingest answers 429 + Retry-After. */
  max_pending_records: count(200_000),
});

/** The ingest log: where requests are acknowledged, before the loader puts them in ClickHouse. */
const ingestLog = z.strictObject({
  /** Where the segments live; default: ingest-log under the embedded data directory (./data/ingest-log for a server). */
  directory: z.string().min(1).optional(),
  /** durable: answer once the request is fsynced to the log; stored: once the loader inserted it into ClickHouse. */
  ack: z.enum(['durable', 'stored']).default('durable'),
  /** Largest size of the log on disk; full: 503 + Retry-After, nothing dropped. */
  max_size: size(2 * 1024 * MiB),
  /** Size at which a segment is closed and the next one begins. */
  segment_size: size(64 * MiB),
  /** With ack: stored, longest a request waits for the store before 503 + Retry-After (its events still load). */
  stored_timeout: duration(10_000),
});

/** A legal hold: the tenant's rows outlive their retention until `until` (RFC 3339 or YYYY-MM-DD). */
const legalHold = z.strictObject({
  tenant: z.string().min(1),
  reason: z.string().min(1, 'say why the rows are held'),
  until: z.string().refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(Date.parse(v)), 'expected a date, e.g. 2030-01-01'),
});

const retention = z.strictObject({
  default_days: count(90, 65_535),
  tenants: z.record(z.string().min(1), count(90, 65_535)).default({}),
  holds: z.array(legalHold).default([]),
});

/** Tamper evidence: signed checkpoints over every loaded row. */
const integrity = z.strictObject({
  enabled: z.boolean().default(true),
  /** Ed25519 private key, PEM (e.g. "${env:AUDIT_SIGNING_KEY}"); default: created in key_directory. */
  signing_key: z.string().min(1).optional(),
  /** Signing key and every public key used; default: `integrity` beside the ingest log's directory (./data/integrity by default). */
  key_directory: z.string().min(1).optional(),
});

const clickhouseExporter = z.strictObject({
  /** embedded://PATH for in-process chDB, or http(s)://host:8123 for a server. */
  endpoint: z
    .string()
    .regex(/^(embedded:\/\/.+|https?:\/\/.+)$/, 'expected embedded://PATH or http(s)://host:port')
    .default('embedded://./data'),
  database: identifier.default('audit'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Create replicated tables ON CLUSTER this name (server only). */
  cluster: identifier.optional(),
  /** Run migrations at start; turn off when the schema is managed by a DBA. */
  create_schema: z.boolean().default(true),
  retention: retention.default(retention.parse({})),
  integrity: integrity.default(integrity.parse({})),
  /** Longest a single insert may take before it counts as failed. */
  insert_timeout: duration(30_000),
  /** Server only: how long start-up waits for the server to answer, retrying with backoff. */
  connect_timeout: duration(60_000),
});

const tokenEntry = z.strictObject({
  /** Who the token is in the sidecar's own trail (actor of its `self` events); default token-N (its position). */
  name: z.string().min(1).max(100).optional(),
  token: z.string().min(16, 'tokens must be at least 16 characters (is the environment variable set?)'),
  tenant: z.string().min(1).optional(),
  scopes: z.array(z.enum(['ingest', 'read', 'admin'])).min(1),
});

const pipeline = z.strictObject({
  receivers: z.array(z.string()).min(1),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1),
});

export const configSchema = z
  .strictObject({
    receivers: z
      .object({
        otlp: otlpReceiver.optional(),
        audit_json: auditJsonReceiver.optional(),
      })
      .catchall(z.unknown()),
    processors: z
      .object({
        normalize: z.strictObject({}).optional(),
        batch: batchProcessor.optional(),
      })
      .catchall(z.unknown())
      .default({}),
    exporters: z.object({ clickhouse: clickhouseExporter }).catchall(z.unknown()),
    extensions: z
      .object({
        api: z
          .strictObject({
            endpoint: endpoint('127.0.0.1:4319'),
            /** Record every /api/v1 call as an event of the sidecar itself (source: self). */
            record_access: z.boolean().default(true),
            /** Let destinations made through the API reach loopback and private networks. */
            allow_private_destinations: z.boolean().default(false),
            /** Longest a page, event or export query may run. */
            query_timeout: duration(10_000),
            /** Widest time range one export may cover. */
            max_export_days: count(92, 36_500),
            /** The live tail: heartbeat interval, bytes queued per client, how long a client may not read. */
            stream: z
              .strictObject({ heartbeat: duration(15_000), max_buffered_bytes: size(1024 * 1024), slow_client_timeout: duration(30_000) })
              .default({ heartbeat: 15_000, max_buffered_bytes: 1024 * 1024, slow_client_timeout: 30_000 }),
            /** Export jobs (POST /api/v1/exports): how long files are kept, how old and how wide their data may be. */
            exports: z
              .strictObject({
                keep: duration(7 * DAY_MS),
                max_age: duration(365 * DAY_MS),
                max_window: duration(92 * DAY_MS),
                /** Where job files live; default: exports/ under the data directory. */
                directory: z.string().min(1).optional(),
                /** Rows read from the store per query while a job runs. */
                page_rows: count(5000, 100_000),
              })
              .default({ keep: 7 * DAY_MS, max_age: 365 * DAY_MS, max_window: 92 * DAY_MS, page_rows: 5000 }),
            /** Time a client has to send a request's headers, and the whole request (body included). */
            read_header_timeout: duration(10_000),
            request_timeout: duration(30_000),
            /** Connections open at once on the API listener (live tails included); more are closed on accept. */
            max_connections: count(1024),
            /** Limits of POST /api/v1/query. */
            sql: z
              .strictObject({ timeout: duration(30_000), max_result_rows: count(100_000), max_memory_usage: size(1024 * MiB) })
              .default({ timeout: 30_000, max_result_rows: 100_000, max_memory_usage: 1024 * MiB }),
          })
          .optional(),
      })
      .catchall(z.unknown())
      .default({}),
    auth: z.strictObject({ tokens: z.array(tokenEntry).default([]) }).default({ tokens: [] }),
    service: z.strictObject({
      collector_id: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1-128 characters of letters, digits, . _ : -')
        .default('local'),
      pipelines: z.record(z.string(), pipeline),
      ingest_log: ingestLog.default(ingestLog.parse({})),
      /** On SIGTERM, longest the loader may spend putting the log into ClickHouse before exit. */
      shutdown_timeout: duration(30_000),
      /** Destination header values are sealed at rest under this key (32 bytes: 64 hex digits or base64). */
      secrets: z
        .strictObject({
          key: z.string().min(1, 'set a key, e.g. ${env:AUDIT_SIDECAR_SECRETS_KEY}').optional(),
          /** Without `key`: a key file, made with mode 0600 when missing (default: secrets.key in the data directory). */
          key_file: z.string().min(1).optional(),
          /** Keys values may still be sealed with; they are sealed again under `key` at start. */
          previous_keys: z.array(z.string().min(1)).default([]),
        })
        .default({ previous_keys: [] }),
      telemetry: z
        .strictObject({
          logs: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
        })
        .default({ logs: { level: 'info' } }),
    }),
  });

const KNOWN = {
  receivers: ['otlp', 'audit_json'],
  processors: ['normalize', 'batch'],
  exporters: ['clickhouse'],
  extensions: ['api'],
} as const;

export interface Problem {
  path: Array<string | number>;
  message: string;
}

/** A problem from a zod issue; for a bad record key, the reason the key is bad. */
export function problemOf(issue: z.core.$ZodIssue, prefix: Array<string | number> = []): Problem {
  const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  return { path: [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: nested ?? issue.message };
}

function destinationProblems(key: string, value: unknown): Problem[] {
  const parsed = destinationSchema.safeParse(value ?? {});
  return parsed.success ? [] : parsed.error.issues.map((issue) => problemOf(issue, ['exporters', key]));
}

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * Checks that span sections: unknown component ids, and pipelines naming components that
 * are not defined. Runs on the raw document so its problems are reported together with
 * the schema's, even when the schema check fails.
 */
export function crossReferenceProblems(document: unknown): Problem[] {
  const problems: Problem[] = [];
  const root = asRecord(document);
  for (const kind of Object.keys(KNOWN) as Array<keyof typeof KNOWN>) {
    for (const key of Object.keys(asRecord(root[kind]))) {
      if ((KNOWN[kind] as readonly string[]).includes(key)) continue;
      if (kind === 'exporters' && key.startsWith('otlphttp')) {
        if (!/^otlphttp\/[A-Za-z0-9_-]{1,64}$/.test(key)) problems.push({ path: [kind, key], message: 'name OTLP/HTTP exporters otlphttp/NAME (letters, digits, _ and -)' });
        else problems.push(...destinationProblems(key, asRecord(root[kind])[key]));
        continue;
      }
      problems.push({ path: [kind, key], message: `unknown ${kind.slice(0, -1)} (available: ${[...KNOWN[kind], ...(kind === 'exporters' ? ['otlphttp/NAME'] : [])].join(', ')})` });
    }
  }
  const pipelines = asRecord(asRecord(root.service).pipelines);
  if (Object.keys(pipelines).length === 0) problems.push({ path: ['service', 'pipelines'], message: 'define at least one pipeline' });
  for (const [name, value] of Object.entries(pipelines)) {
    const p = asRecord(value);
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      const ids = Array.isArray(p[kind]) ? (p[kind] as unknown[]) : [];
      ids.forEach((id, i) => {
        if (typeof id === 'string' && !(id in asRecord(root[kind]))) {
          problems.push({ path: ['service', 'pipelines', name, kind, i], message: `"${id}" is not defined under ${kind}` });
        }
      });
    }
    if (Array.isArray(p.exporters) && !p.exporters.includes('clickhouse')) {
      problems.push({ path: ['service', 'pipelines', name, 'exporters'], message: 'must include clickhouse: events are acknowledged only once stored' });
    }
  }
  return problems;
}

export type RawConfig = z.output<typeof configSchema>;
