import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, resolveConfig } from '../collector/config/load.js';
import { substituteEnv, substituteString } from '../collector/config/env-substitution.js';
import { parseDurationMs, parseSizeBytes } from '../collector/config/units.js';
import { projectRoot } from '../collector/paths.js';

const minimal = (extra: Record<string, unknown> = {}) => ({
  receivers: { otlp: {} },
  exporters: { clickhouse: {} },
  service: { pipelines: { 'logs/audit': { receivers: ['otlp'], exporters: ['clickhouse'] } } },
  ...extra,
});

function problemsOf(document: unknown, env: Record<string, string> = {}): string[] {
  try {
    resolveConfig(document, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('env substitution', () => {
  it('replaces ${env:NAME} and ${env:NAME:-default}, and $$ with $', () => {
    const env = { TOKEN: 'abc', EMPTY: '' };
    expect(substituteString('Bearer ${env:TOKEN}', env)).toBe('Bearer abc');
    expect(substituteString('${env:MISSING:-fallback}', env)).toBe('fallback');
    expect(substituteString('${env:EMPTY:-fallback}', env)).toBe('fallback');
    expect(substituteString('${env:EMPTY}', env)).toBe('');
    expect(substituteString('cost $$5 ${env:TOKEN}', env)).toBe('cost $5 abc');
  });

  it('reports an unset variable without a default by name and key path, once', () => {
    const problems = problemsOf(
      minimal({
        auth: { tokens: [{ token: '${env:INGEST_TOKEN}', scopes: ['ingest'] }] },
        exporters: { clickhouse: { endpoint: '${env:CH}', database: '${env:DB:-audit}' } },
      }),
      { CH: 'http://ch:8123' },
    );
    expect(problems).toEqual(['auth.tokens[0].token: the environment variable INGEST_TOKEN is not set (set it, or write ${env:INGEST_TOKEN:-default})']);
  });

  it('substitutes inside nested values without changing the structure', () => {
    const out = substituteEnv({ a: ['${env:X}', { b: '${env:X}: not: yaml' }], n: 5 }, { X: 'x\nkey: injected' });
    expect(out).toEqual({ a: ['x\nkey: injected', { b: 'x\nkey: injected: not: yaml' }], n: 5 });
  });
});

describe('units', () => {
  it('parses durations and sizes', () => {
    expect(parseDurationMs('200ms')).toBe(200);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseSizeBytes('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSizeBytes('10MB')).toBe(10_000_000);
    expect(parseSizeBytes(1024)).toBe(1024);
    expect(parseSizeBytes('lots')).toBeUndefined();
  });
});

describe('config validation', () => {
  it('fills defaults from a minimal document', () => {
    const config = resolveConfig(minimal(), {});
    expect(config.ingest).toMatchObject({ host: '127.0.0.1', port: 4318, maxBodyBytes: 64 * 1024 * 1024, maxDecompressedBytes: 20 * 1024 * 1024 });
    expect(config.batch).toEqual({ maxRows: 20_000, maxAgeMs: 1_000, maxPendingRows: 200_000 });
    expect(config.store).toMatchObject({ endpoint: 'embedded://./data', database: 'audit', retention: { defaultDays: 90, tenants: {} } });
    expect(config.collectorId).toBe('local');
  });

  it('substitutes env values, including numbers', () => {
    const config = resolveConfig(
      minimal({
        processors: { batch: { send_batch_size: '${env:BATCH}', timeout: '${env:AGE:-50ms}' } },
        service: { collector_id: '${env:HOSTNAME:-local}', pipelines: { p: { receivers: ['otlp'], exporters: ['clickhouse'] } } },
      }),
      { BATCH: '250', HOSTNAME: 'pod-7' },
    );
    expect(config.batch.maxRows).toBe(250);
    expect(config.batch.maxAgeMs).toBe(50);
    expect(config.collectorId).toBe('pod-7');
  });

  it('reports every problem, each with its key path', () => {
    const problems = problemsOf({
      receivers: { otlp: { protocols: { http: { endpoint: 'nowhere', max_request_body_size: 'huge' } } }, kafka: {} },
      processors: { batch: { send_batch_size: 0, timeout: 'later' } },
      exporters: { clickhouse: { database: 'bad-name', retention: { default_days: 0 } } },
      auth: { tokens: [{ token: 'short', scopes: ['ingest'] }] },
      service: { pipelines: { p: { receivers: ['otlp', 'missing'], exporters: ['clickhouse'] } } },
    });
    const text = problems.join('\n');
    expect(text).toContain('receivers.otlp.protocols.http.endpoint: expected host:port');
    expect(text).toContain('receivers.otlp.protocols.http.max_request_body_size: expected a size');
    expect(text).toContain('processors.batch.send_batch_size: expected a whole number');
    expect(text).toContain('processors.batch.timeout: expected a duration');
    expect(text).toContain('exporters.clickhouse.database: expected a ClickHouse identifier');
    expect(text).toContain('exporters.clickhouse.retention.default_days');
    expect(text).toContain('auth.tokens[0].token: tokens must be at least 16 characters');
    expect(text).toContain('receivers.kafka: unknown receiver');
    expect(text).toContain('service.pipelines.p.receivers[1]: "missing" is not defined under receivers');
    expect(problems.length).toBeGreaterThanOrEqual(9);
  });

  it('validates OTLP/HTTP destinations, naming the field', () => {
    const problems = problemsOf(
      minimal({
        exporters: {
          clickhouse: {},
          'otlphttp/siem': { endpoint: 'ftp://siem', max_batch_size: 1001, headers: { 'Bad Name': 'x', 'X-Ok': 'a\r\nb', 'Content-Type': 'text/plain' } },
          'otlphttp/bad name': {},
          kafka: {},
        },
      }),
    ).join('\n');
    expect(problems).toContain('exporters.otlphttp/siem.endpoint: must be an http(s) URL');
    expect(problems).toContain('exporters.otlphttp/siem.max_batch_size: must be an integer from 1 to 1000');
    expect(problems).toContain('exporters.otlphttp/siem.headers.Bad Name: header names must be HTTP tokens');
    expect(problems).toContain('exporters.otlphttp/siem.headers.X-Ok: header values must be visible ASCII');
    expect(problems).toContain('exporters.otlphttp/siem.headers.Content-Type: this header is set by the exporter');
    expect(problems).toContain('exporters.otlphttp/bad name: name OTLP/HTTP exporters otlphttp/NAME');
    expect(problems).toContain('exporters.kafka: unknown exporter');
  });

  it('runs the destinations a pipeline uses, with defaults', () => {
    const config = resolveConfig(
      minimal({
        exporters: { clickhouse: {}, 'otlphttp/siem': { endpoint: 'https://siem.example.com/v1/logs', headers: { Authorization: 'Bearer ${env:T}' } }, 'otlphttp/unused': { endpoint: 'https://x' } },
        service: { pipelines: { p: { receivers: ['otlp'], exporters: ['clickhouse', 'otlphttp/siem'] } } },
      }),
      { T: 'secret' },
    );
    expect(config.destinations).toEqual([
      expect.objectContaining({ id: 'siem', name: 'siem', maxBatchSize: 500, encoding: 'protobuf', compression: 'gzip', enabled: true, headers: { Authorization: 'Bearer secret' } }),
    ]);
  });

  it('requires the clickhouse exporter in every pipeline', () => {
    const problems = problemsOf({ receivers: { otlp: {} }, exporters: { clickhouse: {} }, service: { pipelines: { p: { receivers: ['otlp'], exporters: [] } } } });
    expect(problems.join('\n')).toContain('service.pipelines.p.exporters');
  });

  it('validates JSON profiles defined in config', () => {
    const problems = problemsOf(
      minimal({
        receivers: { otlp: {}, audit_json: { profiles: { vendor: { event_type: '$.kind', actor: '$.who', message: 'kind' }, canonical: {} } } },
      }),
    ).join('\n');
    expect(problems).toContain('receivers.audit_json.profiles.vendor.actor: not a column a profile can map');
    expect(problems).toContain('receivers.audit_json.profiles.vendor.message: invalid JSON path: a JSON path starts with $');
    expect(problems).toContain('receivers.audit_json.profiles.canonical: "canonical" is a built-in profile');
  });

  it('runs a receiver only when a pipeline uses it', () => {
    expect(resolveConfig(minimal({ receivers: { otlp: {}, audit_json: {} } }), {}).auditJson).toBeUndefined();
    const config = resolveConfig(
      minimal({
        receivers: { otlp: {}, audit_json: {} },
        service: { pipelines: { p: { receivers: ['otlp', 'audit_json'], exporters: ['clickhouse'] } } },
      }),
      {},
    );
    expect(config.auditJson).toMatchObject({ maxRecordsPerRequest: 10_000, maxDepth: 32, maxStringLength: 65_536 });
  });

  it('loads the shipped otel-config.yaml as is', async () => {
    const config = await loadConfigFile(join(projectRoot(), 'otel-config.yaml'), {});
    expect(config.ingest.port).toBe(4318);
    expect(config.store.endpoint).toBe('embedded://./data');
  });

  it('names the file and the YAML error for a broken file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'receivers:\n  otlp: [unclosed\n');
    await expect(loadConfigFile(file, {})).rejects.toThrow(/invalid configuration in .*bad\.yaml:\n  - YAML syntax error at line 3, column 1: Flow sequence/);
  });

  it('reports a YAML syntax error once, with its line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'receivers:\n  otlp:\n   protocols: x\n  - foo\n');
    const error = await loadConfigFile(file, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^YAML syntax error at line 4, column 1: A block sequence may not be used as an implicit map key$/)]);
  });
});
