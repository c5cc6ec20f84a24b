/**
 * Export throughput: a sidecar sends stored rows to an OTLP/HTTP receiver (a thread of this process) on
 * 127.0.0.1. Two measures: draining a backlog (rows already stored, read from the earliest)
 * at a given max_batch_size, and keeping up live (a destination subscribed at the end while
 * the sidecar ingests at full load).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../collector/paths.js';
import { peakRssMiB } from './proc.js';

export interface ExportResult {
  batchSize: number;
  records: number;
  seconds: number;
}

/** The receiver (receiver-thread.ts), and what it has counted so far. */
async function startReceiver() {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const thread = new Worker(join(projectRoot(), 'dist/bench/receiver-thread.js'), { workerData: { counters: counters.buffer } });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  return {
    records: () => Atomics.load(counters, 0),
    requests: () => Atomics.load(counters, 1),
    url: `http://127.0.0.1:${port}/v1/logs`,
    close: () => thread.terminate().then(() => undefined),
  };
}

/** Where the exporting sidecar's ingest log is: the one ingest wrote (default), or another (an empty one: export reads ClickHouse). */
export interface ExportSource {
  logDirectory?: string;
}

function startSidecar(workDir: string, dataDir: string, name: string, batchSize: number, receiverUrl: string, port: number, startFrom: 'earliest' | 'end', source: ExportSource = {}): ChildProcess {
  const config = join(workDir, `${name}.yaml`);
  writeFileSync(
    config,
    `receivers: { otlp: { protocols: { http: { endpoint: 127.0.0.1:${port} } } } }
processors:
  batch: { send_batch_size: 20000, timeout: 1s }
exporters:
  clickhouse: { endpoint: "embedded://${dataDir}" }
  otlphttp/${name}: { endpoint: "${receiverUrl}", max_batch_size: ${batchSize}, start_from: ${startFrom} }
service:
  collector_id: bench
  ingest_log: { max_size: 16GiB${source.logDirectory ? `, directory: "${source.logDirectory}"` : ''} }
  telemetry: { logs: { level: warn } }
  pipelines: { logs/audit: { receivers: [otlp], processors: [batch], exporters: [clickhouse, otlphttp/${name}] } }
`,
  );
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Records/s while a sidecar drains the stored rows from the earliest, for `seconds`. */
export async function measureExport(workDir: string, dataDir: string, batchSize: number, seconds: number, port: number, name = `bench${batchSize}`, source: ExportSource = {}): Promise<ExportResult> {
  const receiver = await startReceiver();
  const child = startSidecar(workDir, dataDir, name, batchSize, receiver.url, port, 'earliest', source);
  const deadline = Date.now() + 60_000;
  while (receiver.requests() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const startCount = receiver.records();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const result = { batchSize, records: receiver.records() - startCount, seconds: (performance.now() - started) / 1000 };
  await stop(child);
  await receiver.close();
  return result;
}

export interface LiveExportResult {
  ingested: number;
  ingestSeconds: number;
  /** Peak RSS of the exporting sidecar. */
  rssMiB: number;
  /** Records the receiver had when the load stopped. */
  exportedDuringLoad: number;
  /** How long after the load stopped the receiver had every acknowledged record (NaN: not within the wait). */
  catchUpSeconds: number;
}

/**
 * A destination subscribed at the end (max_batch_size 1000) while `drive` loads the sidecar:
 * how much of the load reached the receiver meanwhile, and how soon the rest did.
 */
export async function measureLiveExport(
  workDir: string,
  dataDir: string,
  port: number,
  drive: (child: ChildProcess) => Promise<{ acked: number; elapsed: number }>,
  maxCatchUpSeconds = 60,
): Promise<LiveExportResult> {
  const receiver = await startReceiver();
  const child = startSidecar(workDir, dataDir, 'live', 1000, receiver.url, port, 'end');
  try {
    const load = await drive(child);
    const exportedDuringLoad = receiver.records();
    const stoppedAt = performance.now();
    const deadline = stoppedAt + maxCatchUpSeconds * 1000;
    while (receiver.records() < load.acked && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const catchUpSeconds = receiver.records() >= load.acked ? (performance.now() - stoppedAt) / 1000 : Number.NaN;
    return { ingested: load.acked, ingestSeconds: load.elapsed, exportedDuringLoad, catchUpSeconds, rssMiB: peakRssMiB(child.pid!) };
  } finally {
    await stop(child);
    await receiver.close();
  }
}
