/**
 * The sidecar as a separate process, started through its CLI as a user would: for crash
 * (kill -9) and shutdown tests. Every child is killed when the test file ends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { projectRoot } from '../../collector/paths.js';

export const CLI = join(projectRoot(), 'dist/collector/cli/main.js');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface SidecarProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stderr(): string;
  stdout(): string;
}

export function startCli(config: string, env: NodeJS.ProcessEnv = process.env): SidecarProcess {
  const child = spawn(process.execPath, [CLI, 'start', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

export async function waitHealthy(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sidecar did not start');
}

/** A config file for a CLI sidecar: OTLP on 127.0.0.1:port, the embedded store under dir/data. */
export function writeCliConfig(dir: string, port: number, collectorId: string, batch: { sendBatchSize: number; timeout: string }): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `receivers:
  otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } }
processors: { batch: { send_batch_size: ${batch.sendBatchSize}, timeout: ${batch.timeout} } }
exporters:
  clickhouse: { endpoint: "embedded://${join(dir, 'data')}" }
service:
  collector_id: ${collectorId}
  pipelines:
    logs/audit: { receivers: [otlp], exporters: [clickhouse] }
`,
  );
  return file;
}
