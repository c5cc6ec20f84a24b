/**
 * A fatal error ends the process within 5 s with a non-zero status, so a supervisor
 * restarts it. The built CLI runs with a small V8 heap and limits raised until one request
 * exhausts it (at the default limits no request can): V8 aborts on "heap out of memory",
 * and libchdb's signal handler used to keep the aborted process alive for over a minute.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { projectRoot } from '../collector/paths.js';
import { tempDir } from './support/sidecar.js';

const CLI = join(projectRoot(), 'dist/collector/cli/main.js');
const dir = tempDir('audit-fatal-');
let kill: (() => void) | undefined;
afterAll(() => kill?.());

/** 20M empty LogRecords in one ExportLogsServiceRequest (40 MB). */
function emptyRecords(count: number): Buffer {
  const varint = (v: number) => {
    const out: number[] = [];
    for (; v > 0x7f; v = Math.floor(v / 128)) out.push((v & 0x7f) | 0x80);
    return [...out, v];
  };
  const scope = [0x12, ...varint(count * 2)];
  const head = [0x0a, ...varint(scope.length + count * 2), ...scope];
  const body = Buffer.alloc(head.length + count * 2);
  body.set(head);
  body.fill(Buffer.from([0x12, 0]), head.length);
  return body;
}

it('a V8 heap out of memory ends the process within 5 s, non-zero', async () => {
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `receivers:
  otlp: { protocols: { http: { endpoint: "127.0.0.1:0", max_request_body_size: 64MiB, max_decompressed_body_size: 64MiB, max_records_per_request: 100000000 } } }
exporters:
  clickhouse: { endpoint: "embedded://${join(dir, 'data')}" }
service:
  pipelines:
    logs/audit: { receivers: [otlp], exporters: [clickhouse] }
`,
  );
  const child = spawn(process.execPath, ['--max-old-space-size=64', CLI, 'start', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  let stderr = ''; // the log (JSON lines) and V8's report
  let fatalAt: number | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (fatalAt === undefined && /heap out of memory|Last few GCs/i.test(stderr)) fatalAt = performance.now();
      const match = /"msg":"ingest listening"[^\n]*"url":"([^"]+)"/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`exited before listening: ${stderr.slice(-2000)}`)));
  });
  const body = emptyRecords(20_000_000);
  const sentAt = performance.now();
  const req = request(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } });
  req.on('error', () => {}); // the server dies mid-request
  req.end(body);

  const result = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
  expect(result, 'the process is still alive 30 s after the request').toBeDefined();
  expect(fatalAt, `no heap-out-of-memory report; stderr: ${stderr.slice(-500)}`).toBeDefined();
  expect(result!.at - fatalAt!).toBeLessThan(5000);
  expect(result!.code !== 0).toBe(true); // killed by SIGABRT: code null, signal set
  expect(result!.signal ?? result!.code).toBeTruthy();
  expect(result!.at - sentAt).toBeLessThan(30_000);
}, 60_000);
