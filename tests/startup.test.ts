/**
 * Start-up failures as an operator meets them, through the built CLI in its own process:
 * one structured log line saying what is wrong and what to do, exit 1, no stack trace;
 * a port in use found before the store is touched; an unreachable ClickHouse server
 * waited for with backoff, up to connect_timeout.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../collector/paths.js';
import { classifyStoreError } from '../collector/store/clickhouse-error.js';
import { tempDir } from './support/sidecar.js';

const CLI = join(projectRoot(), 'dist/collector/cli/main.js');
const dir = tempDir('audit-startup-');
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      servers.push(server);
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

async function closedPort(): Promise<number> {
  const { server, port } = await listening();
  await new Promise((r) => server.close(r));
  return port;
}

function config(name: string, ingestPort: number, clickhouse: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${ingestPort}" } } } }
exporters: { clickhouse: ${clickhouse} }
service: { pipelines: { logs/audit: { receivers: [otlp], exporters: [clickhouse] } } }
`,
  );
  return file;
}

/** Runs `start`, expecting it to fail; returns its stderr as parsed log lines. */
async function failedStart(file: string): Promise<{ lines: Array<Record<string, unknown>>; stderr: string }> {
  const outcome = await promisify(execFile)(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 30_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
  expect(outcome.code).toBe(1);
  expect(outcome.stderr).not.toMatch(/^\s+at /m);
  const lines = outcome.stderr.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, stderr: outcome.stderr };
}

describe('start-up failures', () => {
  it('reports a port in use as one log line, before the store is opened', async () => {
    const { port } = await listening();
    const data = join(dir, 'never-created');
    const { lines } = await failedStart(config('busy', port, `{ endpoint: "embedded://${data}" }`));
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', msg: `start-up failed: receivers.otlp.protocols.http.endpoint: 127.0.0.1:${port} is already in use (another sidecar?): stop that process or choose another port` }),
    ]);
    expect(existsSync(data)).toBe(false);
  });

  it('waits for an unreachable ClickHouse server with backoff, then exits with one message', async () => {
    const ch = await closedPort();
    const started = Date.now();
    const { lines } = await failedStart(config('unreachable', await closedPort(), `{ endpoint: "http://127.0.0.1:${ch}", connect_timeout: 1500ms }`));
    const elapsed = Date.now() - started;
    const waits = lines.filter((l) => l.msg === 'waiting for ClickHouse');
    expect(waits.length).toBeGreaterThanOrEqual(3);
    expect(waits[0]).toMatchObject({ level: 'warn', endpoint: `http://127.0.0.1:${ch}`, attempt: 1 });
    // Backoff: each wait at least as long as the one before.
    const delays = waits.slice(0, -1).map((w) => w.retry_in_ms as number); // the last is cut to the deadline
    expect(delays.every((d, i) => i === 0 || d >= delays[i - 1]!)).toBe(true);
    const last = lines.at(-1)!;
    expect(last.level).toBe('error');
    expect(last.msg).toMatch(new RegExp(`^start-up failed: ClickHouse at http://127.0.0.1:${ch} did not answer within 1.5s .*connect_timeout$`));
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('ClickHouse errors', () => {
  it('classifies network failures as retryable and leaves other errors alone', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyStoreError(refused)).toMatchObject({ kind: 'unavailable', retryable: true, type: 'ECONNREFUSED' });
    expect(classifyStoreError(new Error('Timeout error.'))).toMatchObject({ kind: 'timeout', retryable: true });
    expect(classifyStoreError(new TypeError('x is undefined'))).toBeUndefined();
    // chDB's errors as text: parsed into {code, type}.
    expect(classifyStoreError(new Error('Code: 76. DB::Exception: Cannot lock file /x/status. (CANNOT_OPEN_FILE) (version 26.7.1)'))).toEqual({
      code: 76, type: 'CANNOT_OPEN_FILE', kind: 'unavailable', retryable: true, message: 'Cannot lock file /x/status.',
    });
    expect(classifyStoreError(new Error('Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR)'))).toMatchObject({ kind: 'syntax', retryable: false });
  });
});
