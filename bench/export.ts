/**
 * Export throughput: a sidecar drains already-stored rows to an OTLP/HTTP receiver in this
 * process on 127.0.0.1, for a fixed time, at a given max_batch_size.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeExportLogsRequest } from '../collector/receivers/otlp/protobuf-decoder.js';
import { projectRoot } from '../collector/paths.js';

export interface ExportResult {
  batchSize: number;
  records: number;
  seconds: number;
}

export async function measureExport(workDir: string, dataDir: string, batchSize: number, seconds: number, port: number): Promise<ExportResult> {
  let records = 0;
  let first = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = decodeExportLogsRequest(gunzipSync(Buffer.concat(chunks)));
      if (first === 0) first = performance.now();
      for (const rl of request.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/logs`;
  const config = join(workDir, `export-${batchSize}.yaml`);
  writeFileSync(
    config,
    `receivers: { otlp: { protocols: { http: { endpoint: 127.0.0.1:${port} } } } }
exporters:
  clickhouse: { endpoint: "embedded://${dataDir}" }
  otlphttp/bench${batchSize}: { endpoint: "${receiverUrl}", max_batch_size: ${batchSize}, start_from: earliest }
service:
  collector_id: bench
  telemetry: { logs: { level: warn } }
  pipelines: { logs/audit: { receivers: [otlp], exporters: [clickhouse, otlphttp/bench${batchSize}] } }
`,
  );
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 60_000;
  while (first === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const startCount = records;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const result = { batchSize, records: records - startCount, seconds: (performance.now() - started) / 1000 };
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  return result;
}
