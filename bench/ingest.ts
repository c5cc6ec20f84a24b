/**
 * npm run bench: starts the real sidecar (the CLI, in its own process) on 127.0.0.1,
 * drives it with concurrent OTLP protobuf requests of 100 audit records for a fixed time,
 * and prints records/s, ack latency p50/p99 and the sidecar's peak RSS, next to the
 * ceiling measured in the same run: the same rows inserted straight into the same engine.
 *
 * Then, on the rows it stored, the read side (filtered pages and searches through the
 * API) and export: a sidecar draining them to a local OTLP receiver at max_batch_size
 * 1000 and 100, and a destination subscribed at the end while the full load runs again.
 *
 *   BENCH_SECONDS (60)  BENCH_CONCURRENCY (64)  BENCH_LIGHT_SECONDS (10)  BENCH_LIGHT_CONCURRENCY (4)
 *   BENCH_CEILING_SECONDS (15)
 *   BENCH_EXPORT_SECONDS (15)  BENCH_LIVE_EXPORT_SECONDS (20)  BENCH_NODE_ARGS
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { resolveConfig } from '../collector/config/load.js';
import { silentLogger } from '../collector/log.js';
import { closeClients, openClient } from '../collector/store/clickhouse-client.js';
import { migrate } from '../collector/store/migrations.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import { insertBlocks } from '../collector/store/insert-blocks.js';
import { decodeProtobuf } from '../collector/receivers/otlp/codec.js';
import { normalizeExportRequest } from '../pipelines/otlp/request.js';
import { projectRoot } from '../collector/paths.js';
import type { AuditEvent } from '../schemas/audit-event.js';
import { buildTemplate, stamp } from './workload.js';
import { measureExport, measureLiveExport } from './export.js';
import { measureQueries } from './queries.js';
import { cpuSeconds, peakRssMiB } from './proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LIGHT_CONCURRENCY = Number(process.env.BENCH_LIGHT_CONCURRENCY ?? 4);
const LIGHT_SECONDS = Number(process.env.BENCH_LIGHT_SECONDS ?? 10);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 15);
const EXPORT_SECONDS = Number(process.env.BENCH_EXPORT_SECONDS ?? 15);
const LIVE_EXPORT_SECONDS = Number(process.env.BENCH_LIVE_EXPORT_SECONDS ?? 20);
/** Rows the read-side figures are measured on. */
const QUERY_ROWS = Number(process.env.BENCH_QUERY_ROWS ?? 1_000_000);
const RECORDS_PER_REQUEST = 100;
const BATCH_ROWS = 5000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function configYaml(dataDir: string, port: number): string {
  return `receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:${port} } } }
processors:
  batch: { send_batch_size: ${BATCH_ROWS}, timeout: 200ms }
exporters:
  clickhouse: { endpoint: "embedded://${dataDir}", database: audit }
service:
  collector_id: bench
  telemetry: { logs: { level: ${process.env.BENCH_LOG_LEVEL ?? "warn"} } }
  pipelines:
    logs/audit: { receivers: [otlp], processors: [batch], exporters: [clickhouse] }
`;
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sidecar exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sidecar did not become healthy');
}

async function driveLoad(url: string, concurrency: number, seconds: number, firstRequest = 0) {
  const templates = Array.from({ length: 32 }, (_, i) => buildTemplate(RECORDS_PER_REQUEST, i));
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let sent = firstRequest;
  let acked = 0;
  const deadline = performance.now() + seconds * 1000;
  const startedAt = performance.now();
  let lastReport = startedAt;
  const worker = async (w: number) => {
    const buffer = Buffer.alloc(Math.max(...templates.map((t) => t.body.length)));
    while (performance.now() < deadline) {
      const n = sent++;
      const template = templates[n % templates.length]!;
      const body = stamp(template, buffer.subarray(0, template.body.length), n);
      const t0 = performance.now();
      const response = await pool.request({
        path: '/v1/logs',
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body,
      });
      await response.body.arrayBuffer();
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode === 200) {
        latencies.push(performance.now() - t0);
        acked += template.records;
      } else if (response.headers['retry-after']) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (w === 0 && performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const s = (lastReport - startedAt) / 1000;
        process.stderr.write(`  … ${s.toFixed(0)} s: ${acked} records acknowledged (${Math.round(acked / s)} /s)\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - startedAt) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { acked, elapsed, latencies, statuses, templates, sent };
}

async function storedRows(dataDir: string): Promise<{ rows: number; batches: number }> {
  const config = embeddedConfig(dataDir);
  const client = openClient(config.store, 'bench');
  try {
    const result = await client.query({
      query: "SELECT toString(count()) AS rows, toString(uniqExact(_part)) AS parts FROM audit.events WHERE collector_id = 'bench'",
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ rows: string; parts: string }>();
    return { rows: Number(row?.rows ?? 0), batches: Number(row?.parts ?? 0) };
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}

function embeddedConfig(dataDir: string) {
  return resolveConfig(
    { exporters: { clickhouse: { endpoint: `embedded://${dataDir}` } }, service: { pipelines: { p: { receivers: ['otlp'], exporters: ['clickhouse'] } } }, receivers: { otlp: {} } },
    {},
  );
}

/** The benchmark's records as the sidecar normalizes them, stamped with the current time. */
function benchEvents(templates: ReturnType<typeof buildTemplate>[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const t of templates) {
    const normalized = normalizeExportRequest(decodeProtobuf(stamp(t, Buffer.alloc(t.body.length), events.length)), {
      tenantOverride: undefined,
      receivedAtNanos: `${Date.now()}000000`,
      retention: { defaultDays: 90, tenants: {} },
    });
    events.push(...normalized.events);
  }
  return events;
}

/**
 * The read-side figures are quoted for a million stored rows: when the timed run stored
 * fewer, the rest are inserted directly (unique ids, the same shapes).
 */
async function topUp(dataDir: string, templates: ReturnType<typeof buildTemplate>[], have: number, want: number): Promise<void> {
  if (have >= want) return;
  const config = embeddedConfig(dataDir);
  const client = openClient(config.store, 'bench-top-up');
  const events = benchEvents(templates);
  try {
    for (let done = have, batch = 0; done < want; batch++) {
      const n = Math.min(BATCH_ROWS, want - done);
      const rows = Array.from({ length: n }, (_, i) => ({ ...events[i % events.length]!, event_id: `top-up-${batch}-${i}` }));
      await insertBlocks(client, 'audit', [encodeRows(rows, 10_000_000_000 + done, 'bench-top-up').buffer], 60_000);
      done += n;
    }
  } finally {
    await closeClients([client], config.store.endpoint);
  }
}

/** The same rows, already normalized and serialized, inserted in batches straight into chDB. */
async function measureCeiling(templates: ReturnType<typeof buildTemplate>[]): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audit-bench-ceiling-'));
  const config = embeddedConfig(dataDir);
  const events = benchEvents(templates);
  const client = openClient(config.store, 'bench-ceiling');
  try {
    await migrate(client, config.store, silentLogger);
    // Every batch has ids of its own (repeated rows would merge away for free), encoded
    // while the previous batch is being inserted, as the sidecar does.
    const batch = (n: number) =>
      encodeRows(Array.from({ length: BATCH_ROWS }, (_, i) => ({ ...events[i % events.length]!, event_id: `ceiling-${n}-${i}` })), 1 + n * BATCH_ROWS, 'ceiling').buffer;
    let inserted = 0;
    let next = batch(0);
    const started = performance.now();
    while (performance.now() - started < CEILING_SECONDS * 1000) {
      const insert = insertBlocks(client, 'audit', [next], 60_000);
      next = batch(inserted / BATCH_ROWS + 1);
      await insert;
      inserted += BATCH_ROWS;
    }
    return inserted / ((performance.now() - started) / 1000);
  } finally {
    await closeClients([client], config.store.endpoint);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const port = await freePort();
  const configFile = join(dataDir, 'bench-config.yaml');
  writeFileSync(configFile, configYaml(join(dataDir, 'data'), port));
  const url = `http://127.0.0.1:${port}`;
  // BENCH_NODE_ARGS="--cpu-prof" profiles the sidecar under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', configFile], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitHealthy(url, child);
    process.stderr.write(`ingest: ${SECONDS} s, ${CONCURRENCY} concurrent requests of ${RECORDS_PER_REQUEST} records\n`);
    const cpuBefore = { all: cpuSeconds(child.pid!), main: cpuSeconds(child.pid!, child.pid!) };
    const load = await driveLoad(url, CONCURRENCY, SECONDS);
    const cpu = { all: cpuSeconds(child.pid!) - cpuBefore.all, main: cpuSeconds(child.pid!, child.pid!) - cpuBefore.main };
    // The same sidecar under a light load: latency when commits are not queueing.
    process.stderr.write(`light load: ${LIGHT_SECONDS} s, ${LIGHT_CONCURRENCY} concurrent requests\n`);
    const light = await driveLoad(url, LIGHT_CONCURRENCY, LIGHT_SECONDS, load.sent);
    const rss = peakRssMiB(child.pid!);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const stored = await storedRows(join(dataDir, 'data'));
    process.stderr.write(`ceiling: ${CEILING_SECONDS} s of ${BATCH_ROWS}-row inserts of the same rows into a fresh embedded store\n`);
    const ceiling = await measureCeiling(load.templates);
    const exports = [];
    for (const batchSize of [1000, 100]) {
      process.stderr.write(`export: ${EXPORT_SECONDS} s draining stored rows at max_batch_size ${batchSize}\n`);
      exports.push(await measureExport(dataDir, join(dataDir, 'data'), batchSize, EXPORT_SECONDS, port));
    }
    await topUp(join(dataDir, 'data'), load.templates, stored.rows, QUERY_ROWS);
    process.stderr.write(`queries: page queries and q searches through the API on ${Math.max(stored.rows, QUERY_ROWS)} stored rows\n`);
    const queries = await measureQueries(dataDir, join(dataDir, 'data'), port, await freePort());
    process.stderr.write(`live export: ${LIVE_EXPORT_SECONDS} s of the same load (after the read-side figures, which it would change) with a destination subscribed at the end\n`);
    const live = await measureLiveExport(dataDir, join(dataDir, 'data'), port, async (exporting) => {
      await waitHealthy(url, exporting);
      return driveLoad(url, CONCURRENCY, LIVE_EXPORT_SECONDS, load.sent + light.sent);
    });
    const rate = load.acked / load.elapsed;
    const lines = [
      '',
      'audit-sidecar ingest benchmark (OTLP/HTTP protobuf over 127.0.0.1, embedded chDB)',
      `  records acknowledged   ${load.acked} in ${load.elapsed.toFixed(1)} s`,
      `  throughput             ${Math.round(rate)} records/s`,
      `  ack latency            p50 ${percentile(load.latencies, 50).toFixed(1)} ms, p99 ${percentile(load.latencies, 99).toFixed(1)} ms`,
      `  light load (${LIGHT_CONCURRENCY} clients)   ${Math.round(light.acked / light.elapsed)} records/s, ack p50 ${percentile(light.latencies, 50).toFixed(1)} ms, p99 ${percentile(light.latencies, 99).toFixed(1)} ms`,
      `  sidecar peak RSS       ${rss.toFixed(0)} MiB`,
      `  sidecar CPU per record ${((cpu.all / load.acked) * 1e6).toFixed(1)} µs (main thread ${((cpu.main / load.acked) * 1e6).toFixed(1)} µs, engine and GC threads the rest); ${(cpu.all / load.elapsed).toFixed(2)} cores busy`,
      `  responses              ${[...load.statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
      `  rows stored            ${stored.rows} (${stored.rows === load.acked + light.acked ? 'equal to' : 'DIFFERENT FROM'} records acknowledged in both phases)`,
      `  ceiling (raw inserts)  ${Math.round(ceiling)} rows/s`,
      `  sidecar / ceiling      ${(rate / ceiling).toFixed(2)}`,
      ...queries.map((q) => `  ${q.name.padEnd(44)} p50 ${q.p50.toFixed(1)} ms, p99 ${q.p99.toFixed(1)} ms (${q.count} queries, ${Math.max(stored.rows, QUERY_ROWS)} rows)`),
      ...exports.map((e) => `  export backlog, batch ${String(e.batchSize).padEnd(5)} ${Math.round(e.records / e.seconds)} records/s (${(e.records / e.seconds / rate).toFixed(2)} of ingest)`),
      `  export live, batch 1000     ingest ${Math.round(live.ingested / live.ingestSeconds)} records/s for ${live.ingestSeconds.toFixed(0)} s; the receiver had ${((100 * live.exportedDuringLoad) / live.ingested).toFixed(1)} % when the load stopped, all ${Number.isNaN(live.catchUpSeconds) ? 'NOT within 60 s' : `${live.catchUpSeconds.toFixed(1)} s later`}; peak RSS ${live.rssMiB.toFixed(0)} MiB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (stored.rows !== load.acked + light.acked) process.exitCode = 1;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
