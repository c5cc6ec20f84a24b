/**
 * The audit-sidecar command as a user runs it: a separate process (the built CLI), real
 * signals, the data directory lock, and exit codes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../collector/paths.js';
import { tempDir } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const CLI = join(projectRoot(), 'dist/collector/cli/main.js');
const dir = tempDir('audit-cli-');
const TOKEN = 'ingest-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function writeConfig(port: number, apiPort?: number): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `receivers:
  otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } }
processors: { batch: { timeout: 20ms } }
exporters:
  clickhouse: { endpoint: "embedded://${join(dir, 'data')}" }
${apiPort ? `extensions: { api: { endpoint: "127.0.0.1:${apiPort}" } }\n` : ''}auth:
  tokens:
    - { token: "\${env:TEST_INGEST_TOKEN}", tenant: acme, scopes: [ingest] }
    - { token: "${ADMIN_TOKEN}", scopes: [admin, read] }
service:
  collector_id: cli-test
  pipelines:
    logs/audit: { receivers: [otlp], exporters: [clickhouse] }
`,
  );
  return file;
}

const env = { ...process.env, TEST_INGEST_TOKEN: TOKEN };

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

function start(config: string) {
  const child = spawn(process.execPath, [CLI, 'start', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function waitHealthy(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sidecar did not start');
}

let sent = 0;
function send(port: number, eventName: string, token = TOKEN) {
  sent += 1;
  return fetch(`http://127.0.0.1:${port}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` },
    body: encodeProtobuf(otlpRequest([{ eventName, body: `request ${sent}`, attributes: { 'user.id': 'u', 'audit.tenant.id': 'spoofed' } }])),
  });
}

describe('audit-sidecar CLI', () => {
  it('stops start-up on a bad config, listing every problem by key path', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'receivers: { otlp: { protocols: { http: { endpoint: "nope" } } } }\nexporters: { clickhouse: { database: "a-b" } }\nservice: { pipelines: {} }\n');
    const result = run(['start', '--config', bad]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('receivers.otlp.protocols.http.endpoint: expected host:port');
    expect(result.stderr).toContain('exporters.clickhouse.database');
    expect(result.stderr).toContain('service.pipelines: define at least one pipeline');
  });

  it('migrates, serves, refuses a second opener, drains on SIGTERM and exits 0', async () => {
    const port = await freePort();
    const config = writeConfig(port);
    const migrated = run(['migrate', '--config', config]);
    expect(migrated.status).toBe(0);
    expect(migrated.stdout).toContain('applied: 0001_events, 0002_export');
    expect(run(['migrate', '--config', config]).stdout).toContain('schema is up to date');

    const sidecar = start(config);
    await waitHealthy(port);
    expect((await send(port, 'cli.before', 'wrong-token-wrong-token')).status).toBe(401);
    expect((await send(port, 'cli.before')).status).toBe(200);

    const locked = run(['sql', 'SELECT 1', '--config', config]);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toContain('is in use by another process');
    expect(locked.stderr).toContain('the config has no extensions.api');
    expect(locked.stderr).not.toContain('Cannot lock file'); // found before the engine is opened

    // Requests in flight when SIGTERM arrives are still committed and answered.
    const inFlight = Array.from({ length: 5 }, () => send(port, 'cli.drain'));
    await new Promise((r) => setTimeout(r, 5));
    sidecar.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((p) => p.then((r) => r.status, () => 0)));
    expect(await sidecar.exited).toBe(0);
    const logs = sidecar.stderr();
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).not.toContain(TOKEN);
    for (const line of logs.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    const counted = run(['sql', "SELECT event_type, tenant_id, count() FROM audit.events GROUP BY ALL ORDER BY 1", '--config', config, '--format', 'TSV']);
    expect(counted.status).toBe(0);
    const drained = statuses.filter((s) => s === 200).length;
    const expected = [['cli.before', 'acme', '1'], ...(drained > 0 ? [['cli.drain', 'acme', String(drained)]] : [])];
    expect(counted.stdout.trim().split('\n').map((l) => l.split('\t'))).toEqual(expected);

    const refused = run(['sql', 'DROP TABLE audit.events', '--config', config]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Drop statements are not allowed');
    const internal = run(['sql', 'SELECT * FROM audit.destinations', '--config', config]);
    expect(internal.status).toBe(1);
    expect(internal.stderr).toContain('not open to analysts');
  });

  it('sql goes through the running sidecar\'s API when there is one', async () => {
    const port = await freePort();
    const apiPort = await freePort();
    const config = writeConfig(port, apiPort);
    const sidecar = start(config);
    await waitHealthy(port);
    expect((await send(port, 'cli.api')).status).toBe(200);
    const result = spawnSync(process.execPath, [CLI, 'sql', "SELECT event_type FROM audit.events WHERE event_type = 'cli.api'", '--config', config], {
      encoding: 'utf8',
      env: { ...env, AUDIT_SIDECAR_TOKEN: ADMIN_TOKEN },
    });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('{"event_type":"cli.api"}');
    // --format works through the API too, as it does directly on the store.
    const sqlAs = (format: string) =>
      spawnSync(process.execPath, [CLI, 'sql', "SELECT event_type, 2 AS n FROM audit.events WHERE event_type = 'cli.api'", '--config', config, '--format', format], {
        encoding: 'utf8',
        env: { ...env, AUDIT_SIDECAR_TOKEN: ADMIN_TOKEN },
      }).stdout;
    expect(sqlAs('TSV')).toBe('cli.api\t2\n');
    expect(sqlAs('CSVWithNames')).toBe('"event_type","n"\n"cli.api",2\n');
    expect(sqlAs('PrettyCompact')).toBe('┌─event_type─┬─n─┐\n│ cli.api    │ 2 │\n└────────────┴───┘\n');
    // An API address nobody answers on: said so, then the data directory (held by the sidecar) is refused clearly.
    writeFileSync(join(dir, 'elsewhere.yaml'), readFileSync(config, 'utf8').replace(`127.0.0.1:${apiPort}`, `127.0.0.1:${await freePort()}`));
    const wrongApi = spawnSync(process.execPath, [CLI, 'sql', 'SELECT 1', '--config', join(dir, 'elsewhere.yaml')], { encoding: 'utf8', env });
    expect(wrongApi.status).toBe(1);
    expect(wrongApi.stderr).toMatch(/is in use by another process \(pid \d+, a running sidecar\?\) and its API did not answer at http:\/\/127\.0\.0\.1:\d+/);
    expect(wrongApi.stderr).not.toContain('Cannot lock file');
    const refused = spawnSync(process.execPath, [CLI, 'sql', 'DROP TABLE audit.events', '--config', config], { encoding: 'utf8', env: { ...env, AUDIT_SIDECAR_TOKEN: ADMIN_TOKEN } });
    expect(refused.status).toBe(1);
    sidecar.child.kill('SIGTERM');
    expect(await sidecar.exited).toBe(0);
  });

  it('after a crash (SIGKILL) keeps every acknowledged row and numbers above them', async () => {
    const port = await freePort();
    const config = writeConfig(port);
    const first = start(config);
    await waitHealthy(port);
    expect((await send(port, 'crash.before')).status).toBe(200);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = start(config);
    await waitHealthy(port);
    expect((await send(port, 'crash.after')).status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const rows = run(['sql', "SELECT event_type, ingest_seq FROM audit.events WHERE event_type LIKE 'crash.%' ORDER BY ingest_seq", '--config', config, '--format', 'TSV']);
    const [[beforeType, beforeSeq], [afterType, afterSeq]] = rows.stdout.trim().split('\n').map((l) => l.split('\t')) as [string[], string[]];
    expect([beforeType, afterType]).toEqual(['crash.before', 'crash.after']);
    expect(Number(afterSeq)).toBeGreaterThan(Number(beforeSeq));
  });
});
