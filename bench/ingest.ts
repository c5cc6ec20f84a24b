/**
 * npm run bench: starts the real sidecar (the CLI, in its own process) on 127.0.0.1,
 * drives it with concurrent OTLP protobuf requests of 100 audit records for a fixed time,
 * once with `ack: durable` and once with `ack: stored` (each on a fresh data directory, at
 * saturation and then under light load), and prints records/s, ack latency p50/p99, CPU
 * per record, peak RSS, the loader's lag during and after the load and its rows per
 * insert, next to the ceiling measured in the same run: the same rows inserted straight
 * into the same engine.
 *
 * Then, on the rows stored, export of the backlog read from the ingest log against read
 * from ClickHouse, the read side (filtered pages and searches through the API), and a
 * destination subscribed at the end while the full load runs again. Integrity: `verify`
 * over the rows the durable run stored (rows/s), and the durable saturation load once with
 * integrity on and once off (records/s, the ratio is the cost of hashing and checkpoints).
 *
 *   BENCH_SECONDS (60)  BENCH_CONCURRENCY (64)  BENCH_LIGHT_SECONDS (10)  BENCH_LIGHT_CONCURRENCY (4)
 *   BENCH_CEILING_SECONDS (15)
 *   BENCH_EXPORT_SECONDS (15)  BENCH_LIVE_EXPORT_SECONDS (20)  BENCH_INTEGRITY_SECONDS (20)  BENCH_NODE_ARGS
 *   BENCH_INTEGRITY (on) for the ack runs
 *   BENCH_ONLY: `ingest` (the durable run and the ceiling) or `integrity` (the on/off phases), for quick iterations
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
import { projectRoot } from '../collector/paths.js';
import { benchEvents, buildTemplate, stamp } from './workload.js';
import { measureExport, measureLiveExport } from './export.js';
import { measureQueries } from './queries.js';
import { cpuByThreadName, cpuSeconds, peakRssMiB } from './proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LIGHT_CONCURRENCY = Number(process.env.BENCH_LIGHT_CONCURRENCY ?? 4);
const LIGHT_SECONDS = Number(process.env.BENCH_LIGHT_SECONDS ?? 10);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 15);
const EXPORT_SECONDS = Number(process.env.BENCH_EXPORT_SECONDS ?? 15);
const LIVE_EXPORT_SECONDS = Number(process.env.BENCH_LIVE_EXPORT_SECONDS ?? 20);
const INTEGRITY_SECONDS = Number(process.env.BENCH_INTEGRITY_SECONDS ?? 20);
/** Rows the read-side figures are measured on. */
const QUERY_ROWS = Number(process.env.BENCH_QUERY_ROWS ?? 1_000_000);
const RECORDS_PER_REQUEST = 100;
/** The ceiling's rows per insert: the loader's (send_batch_size in configYaml). */
const BATCH_ROWS = 20_000;
const ONLY = process.env.BENCH_ONLY;

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

/**
 * The sidecar under load. A destination that never answers (a closed port) holds the
 * ingest log, so the export phase later finds the whole backlog in the log; it costs the
 * run a connection attempt per backoff.
 */
function configYaml(dataDir: string, port: number, apiPort: number, ack: 'durable' | 'stored', heldBy: string, integrity = true): string {
  return `receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:${port} } } }
processors:
  batch: { send_batch_size: 20000, timeout: 1s }
exporters:
  clickhouse: { endpoint: "embedded://${dataDir}", database: audit, integrity: { enabled: ${integrity} } }
  otlphttp/held: { endpoint: "${heldBy}", max_batch_size: 1000, start_from: earliest, retry: { initial_interval: 5s, max_interval: 60s } }
extensions:
  api: { endpoint: 127.0.0.1:${apiPort} }
service:
  collector_id: bench
  ingest_log: { ack: ${ack}, max_size: 16GiB }
  telemetry: { logs: { level: ${process.env.BENCH_LOG_LEVEL ?? "warn"} } }
  pipelines:
    logs/audit: { receivers: [otlp], processors: [batch], exporters: [clickhouse, otlphttp/held] }
`;
}

/** One value of a Prometheus text exposition (the first sample of that name). */
function metric(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Samples the loader's lag while `during` runs, then waits for it to reach 0. */
async function watchLoader<T>(apiUrl: string, during: Promise<T>) {
  let maxLag = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      const text = await (await fetch(`${apiUrl}/metrics`)).text();
      maxLag = Math.max(maxLag, metric(text, 'audit_sidecar_loader_lag_records'));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const result = await during;
  running = false;
  await sampling;
  const endedAt = performance.now();
  let text = await (await fetch(`${apiUrl}/metrics`)).text();
  const lagAtEnd = metric(text, 'audit_sidecar_loader_lag_records');
  while (metric(text, 'audit_sidecar_loader_lag_records') > 0 && performance.now() - endedAt < 60_000) {
    await new Promise((r) => setTimeout(r, 100));
    text = await (await fetch(`${apiUrl}/metrics`)).text();
  }
  const drainSeconds = (performance.now() - endedAt) / 1000;
  const inserts = metric(text, 'audit_sidecar_store_commit_rows_count');
  const rowsPerInsert = metric(text, 'audit_sidecar_store_commit_rows_sum') / inserts;
  return { result, loader: { maxLag, lagAtEnd, drainSeconds, inserts, rowsPerInsert } };
}

type LoaderFigures = Awaited<ReturnType<typeof watchLoader>>['loader'];

interface ModeResult {
  ack: 'durable' | 'stored';
  dataDir: string;
  load: Awaited<ReturnType<typeof driveLoad>>;
  light: Awaited<ReturnType<typeof driveLoad>>;
  cpu: { all: number; main: number };
  /** CPU seconds of the saturation phase by thread name. */
  threads: Array<{ name: string; seconds: number }>;
  rss: number;
  loader: LoaderFigures;
  lightLoader: LoaderFigures;
  stored: number;
}

/** A sidecar with `ack` on a fresh data directory: saturation, then light load, then a clean stop. */
async function runMode(workDir: string, ack: 'durable' | 'stored', port: number, firstRequest: number): Promise<ModeResult> {
  const dataDir = join(workDir, `data-${ack}`);
  const configFile = join(workDir, `bench-${ack}.yaml`);
  const apiPort = await freePort();
  // BENCH_INTEGRITY=off: without hashing and checkpoints, to see what they cost.
  writeFileSync(configFile, configYaml(dataDir, port, apiPort, ack, `http://127.0.0.1:${await freePort()}/v1/logs`, process.env.BENCH_INTEGRITY !== 'off'));
  const url = `http://127.0.0.1:${port}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  // BENCH_NODE_ARGS="--cpu-prof" profiles the sidecar under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', configFile], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitHealthy(url, child);
    process.stderr.write(`ack: ${ack}: ${SECONDS} s, ${CONCURRENCY} concurrent requests of ${RECORDS_PER_REQUEST} records\n`);
    const cpuBefore = { all: cpuSeconds(child.pid!), main: cpuSeconds(child.pid!, child.pid!) };
    const threadsBefore = cpuByThreadName(child.pid!);
    const saturated = await watchLoader(apiUrl, driveLoad(url, CONCURRENCY, SECONDS, firstRequest));
    const cpu = { all: cpuSeconds(child.pid!) - cpuBefore.all, main: cpuSeconds(child.pid!, child.pid!) - cpuBefore.main };
    const threads = [...cpuByThreadName(child.pid!)].map(([name, seconds]) => ({ name, seconds: seconds - (threadsBefore.get(name) ?? 0) }));
    process.stderr.write(`ack: ${ack}: light load, ${LIGHT_SECONDS} s, ${LIGHT_CONCURRENCY} concurrent requests\n`);
    const light = await watchLoader(apiUrl, driveLoad(url, LIGHT_CONCURRENCY, LIGHT_SECONDS, saturated.result.sent));
    const rss = peakRssMiB(child.pid!);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const stored = (await storedRows(dataDir)).rows;
    return { ack, dataDir, load: saturated.result, light: light.result, cpu, threads, rss, loader: saturated.loader, lightLoader: light.loader, stored };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
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

/**
 * The integrity cost: the durable saturation load for `seconds` on a fresh data directory,
 * with `exporters.clickhouse.integrity.enabled` as given, and how long after it the loader
 * had everything loaded (and sealed).
 */
async function runIntegrityPhase(workDir: string, integrity: boolean, port: number, firstRequest: number, seconds: number) {
  const name = integrity ? 'integrity-on' : 'integrity-off';
  const dataDir = join(workDir, `data-${name}`);
  const configFile = join(workDir, `bench-${name}.yaml`);
  const apiPort = await freePort();
  writeFileSync(configFile, configYaml(dataDir, port, apiPort, 'durable', `http://127.0.0.1:${await freePort()}/v1/logs`, integrity));
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitHealthy(`http://127.0.0.1:${port}`, child);
    process.stderr.write(`integrity ${integrity ? 'on' : 'off'}: ack: durable, ${seconds} s, ${CONCURRENCY} concurrent requests\n`);
    const run = await watchLoader(`http://127.0.0.1:${apiPort}`, driveLoad(`http://127.0.0.1:${port}`, CONCURRENCY, seconds, firstRequest));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    return { acked: run.result.acked, elapsed: run.result.elapsed, sent: run.result.sent, drainSeconds: run.loader.drainSeconds };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(join(workDir, `data-${name}`), { recursive: true, force: true });
  }
}

/** `audit-sidecar verify` (the CLI, on the stopped sidecar's data directory) over every row the run stored. */
function runVerify(configFile: string): { rows: number; seconds: number; rate: number; ok: boolean } {
  const result = spawnSync(process.execPath, [join(projectRoot(), 'dist/collector/cli/main.js'), 'verify', '--config', configFile], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0 && result.status !== 1) throw new Error(`verify exited with ${result.status}: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { ok: boolean; rows_checked: number; seconds: number; rows_per_second: number };
  return { rows: report.rows_checked, seconds: report.seconds, rate: report.rows_per_second, ok: report.ok };
}

/** The same rows, already normalized and serialized, inserted in batches straight into chDB. */
async function measureCeiling(templates: ReturnType<typeof buildTemplate>[]): Promise<{ rate: number; cpuPerRow: number }> {
  process.stderr.write(`ceiling: ${CEILING_SECONDS} s of ${BATCH_ROWS}-row inserts of the same rows into a fresh embedded store\n`);
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
    // The engine's CPU: every thread of this process but the main one (which encodes).
    const engineCpu = () => cpuSeconds(process.pid) - cpuSeconds(process.pid, process.pid);
    const cpuBefore = engineCpu();
    while (performance.now() - started < CEILING_SECONDS * 1000) {
      const insert = insertBlocks(client, 'audit', [next], 60_000);
      next = batch(inserted / BATCH_ROWS + 1);
      await insert;
      inserted += BATCH_ROWS;
    }
    return { rate: inserted / ((performance.now() - started) / 1000), cpuPerRow: (engineCpu() - cpuBefore) / inserted };
  } finally {
    await closeClients([client], config.store.endpoint);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** On, off, off, on (half the time each): a machine whose load drifts favours neither. */
async function integrityLine(workDir: string, port: number, firstRequest: number) {
  const phases: Array<Awaited<ReturnType<typeof runIntegrityPhase>> & { integrity: boolean }> = [];
  for (const integrity of [true, false, false, true]) {
    const phase = await runIntegrityPhase(workDir, integrity, port, phases.at(-1)?.sent ?? firstRequest, INTEGRITY_SECONDS / 2);
    phases.push({ ...phase, integrity });
  }
  const run = (on: boolean) => {
    const mine = phases.filter((p) => p.integrity === on);
    return { rate: mine.reduce((n, p) => n + p.acked, 0) / mine.reduce((n, p) => n + p.elapsed, 0), drainSeconds: Math.max(...mine.map((p) => p.drainSeconds)) };
  };
  const on = run(true);
  const off = run(false);
  const line = `  integrity cost         durable saturation (${CONCURRENCY}, ${INTEGRITY_SECONDS} s each, on/off/off/on) with integrity ${Math.round(on.rate)} records/s, without ${Math.round(off.rate)} records/s: ratio ${(on.rate / off.rate).toFixed(2)} (${(100 * (1 - on.rate / off.rate)).toFixed(1)} % cost); loader done at most ${on.drainSeconds.toFixed(1)} s / ${off.drainSeconds.toFixed(1)} s after the load`;
  return { line, on, off };
}

function ceilingLine(ceiling: { rate: number; cpuPerRow: number }, durable: ModeResult, stored?: ModeResult): string {
  const ratios = [`durable / ceiling ${(rateOf(durable.load) / ceiling.rate).toFixed(2)}`];
  if (stored) ratios.push(`stored / ceiling ${(rateOf(stored.load) / ceiling.rate).toFixed(2)}`);
  return `  ceiling (raw inserts)  ${Math.round(ceiling.rate)} rows/s of ${BATCH_ROWS}-row Native blocks, engine CPU ${(ceiling.cpuPerRow * 1e6).toFixed(1)} µs a row; ${ratios.join(', ')}`;
}

const rateOf = (r: { acked: number; elapsed: number }) => r.acked / r.elapsed;

function modeLines(m: ModeResult): string[] {
  const f = (n: number) => n.toFixed(1);
  return [
    `  ack: ${m.ack}`,
    `    saturation (${CONCURRENCY})      ${Math.round(rateOf(m.load))} records/s, ack p50 ${f(percentile(m.load.latencies, 50))} ms, p99 ${f(percentile(m.load.latencies, 99))} ms; responses ${[...m.load.statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    `    light load (${LIGHT_CONCURRENCY})       ${Math.round(rateOf(m.light))} records/s, ack p50 ${f(percentile(m.light.latencies, 50))} ms, p99 ${f(percentile(m.light.latencies, 99))} ms`,
    `    CPU per record        ${f((m.cpu.all / m.load.acked) * 1e6)} µs (main thread ${f((m.cpu.main / m.load.acked) * 1e6)} µs, other threads ${f(((m.cpu.all - m.cpu.main) / m.load.acked) * 1e6)} µs); ${(m.cpu.all / m.load.elapsed).toFixed(2)} cores busy`,
    `    CPU by thread name    ${m.threads.filter((t) => t.seconds / m.load.acked >= 0.5e-6).sort((a, b) => b.seconds - a.seconds).map((t) => `${t.name} ${f((t.seconds / m.load.acked) * 1e6)}`).join(', ')} (µs a record)`,
    `    peak RSS              ${m.rss.toFixed(0)} MiB`,
    `    loader, saturation    lag max ${m.loader.maxLag} records, ${m.loader.lagAtEnd} at the end, 0 after ${f(m.loader.drainSeconds)} s; ${Math.round(m.loader.rowsPerInsert)} rows per insert (${m.loader.inserts} inserts so far)`,
    `    loader, light load    lag max ${m.lightLoader.maxLag} records, 0 after ${f(m.lightLoader.drainSeconds)} s; ${Math.round(m.lightLoader.rowsPerInsert)} rows per insert over both phases`,
    `    rows stored           ${m.stored} (${m.stored === m.load.acked + m.light.acked ? 'equal to' : 'DIFFERENT FROM'} records acknowledged)`,
  ];
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    if (ONLY === 'integrity') {
      process.stdout.write(`${(await integrityLine(workDir, port, 0)).line}\n`);
      return;
    }
    const durable = await runMode(workDir, 'durable', port, 0);
    if (ONLY === 'ingest') {
      const ceiling = await measureCeiling(durable.load.templates);
      process.stdout.write(`${[...modeLines(durable), ceilingLine(ceiling, durable)].join('\n')}\n`);
      return;
    }
    process.stderr.write(`verify: audit-sidecar verify over the ${durable.stored} rows the durable run stored\n`);
    const verified = runVerify(join(workDir, 'bench-durable.yaml'));
    const stored = await runMode(workDir, 'stored', port, durable.load.sent + durable.light.sent);
    const integrity = await integrityLine(workDir, port, stored.load.sent + stored.light.sent);
    const ceiling = await measureCeiling(durable.load.templates);
    // The durable run's data: its ingest log still holds every record (the held destination never took any).
    const dataDir = durable.dataDir;
    const backlog = durable.stored;
    process.stderr.write(`export: ${EXPORT_SECONDS} s draining the ${backlog}-record backlog at max_batch_size 1000, from the ingest log and from ClickHouse\n`);
    const fromLog = await measureExport(workDir, dataDir, 1000, EXPORT_SECONDS, port, 'fromlog');
    const fromStore = await measureExport(workDir, dataDir, 1000, EXPORT_SECONDS, port, 'fromstore', { logDirectory: join(workDir, 'empty-log') });
    const fromLog100 = await measureExport(workDir, dataDir, 100, EXPORT_SECONDS, port, 'fromlog100');
    await topUp(dataDir, durable.load.templates, backlog, QUERY_ROWS);
    process.stderr.write(`queries: page queries and q searches through the API on ${Math.max(backlog, QUERY_ROWS)} stored rows\n`);
    const queries = await measureQueries(workDir, dataDir, port, await freePort());
    process.stderr.write(`live export: ${LIVE_EXPORT_SECONDS} s of the same load with a destination subscribed at the end\n`);
    const live = await measureLiveExport(workDir, dataDir, port, async (exporting) => {
      await waitHealthy(url, exporting);
      return driveLoad(url, CONCURRENCY, LIVE_EXPORT_SECONDS, stored.load.sent + stored.light.sent);
    });
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const exportRate = (e: { records: number; seconds: number }) => e.records / e.seconds;
    const lines = [
      '',
      'audit-sidecar benchmark (OTLP/HTTP protobuf over 127.0.0.1, embedded chDB; ratios are within this run)',
      ...modeLines(durable),
      ...modeLines(stored),
      `  durable / stored       saturation ${ratio(rateOf(durable.load), rateOf(stored.load))}x, light load ${ratio(rateOf(durable.light), rateOf(stored.light))}x records/s`,
      integrity.line,
      `  verify                 ${verified.rows} rows in ${verified.seconds.toFixed(2)} s = ${Math.round(verified.rate)} rows/s (${verified.ok ? 'clean' : 'PROBLEMS FOUND'})`,
      ceilingLine(ceiling, durable, stored),
      `  export backlog, batch 1000: from the ingest log ${Math.round(exportRate(fromLog))} records/s, from ClickHouse ${Math.round(exportRate(fromStore))} records/s (${ratio(exportRate(fromLog), exportRate(fromStore))}x), ${backlog} records`,
      `  export backlog, batch 100:  from the ingest log ${Math.round(exportRate(fromLog100))} records/s`,
      ...queries.map((q) => `  ${q.name.padEnd(44)} p50 ${q.p50.toFixed(1)} ms, p99 ${q.p99.toFixed(1)} ms (${q.count} queries, ${Math.max(backlog, QUERY_ROWS)} rows)`),
      `  export live, batch 1000     ingest ${Math.round(live.ingested / live.ingestSeconds)} records/s for ${live.ingestSeconds.toFixed(0)} s; the receiver had ${((100 * live.exportedDuringLoad) / live.ingested).toFixed(1)} % when the load stopped, all ${Number.isNaN(live.catchUpSeconds) ? 'NOT within 60 s' : `${live.catchUpSeconds.toFixed(1)} s later`}; peak RSS ${live.rssMiB.toFixed(0)} MiB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (durable.stored !== durable.load.acked + durable.light.acked || stored.stored !== stored.load.acked + stored.light.acked || !verified.ok) process.exitCode = 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
