/**
 * Read-side latency on the benchmark's stored rows: a sidecar with its API on the same
 * data answers filtered page queries and `q` searches from this process over 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../collector/paths.js';

export interface LatencyResult {
  name: string;
  p50: number;
  p99: number;
  count: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function time(url: string, n: number, path: (i: number) => string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const response = await fetch(`${url}${path(i)}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path(i)} answered ${response.status}`);
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

export async function measureQueries(workDir: string, dataDir: string, ingestPort: number, apiPort: number): Promise<LatencyResult[]> {
  const config = join(workDir, 'queries.yaml');
  writeFileSync(
    config,
    `receivers: { otlp: { protocols: { http: { endpoint: 127.0.0.1:${ingestPort} } } } }
exporters: { clickhouse: { endpoint: "embedded://${dataDir}" } }
extensions: { api: { endpoint: 127.0.0.1:${apiPort} } }
service:
  collector_id: bench
  telemetry: { logs: { level: warn } }
  pipelines: { logs/audit: { receivers: [otlp], exporters: [clickhouse] } }
`,
  );
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/collector/cli/main.js'), 'start', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${apiPort}`;
  try {
    for (let i = 0; i < 300; i++) {
      if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await time(url, 5, () => '/api/v1/events?limit=100'); // warm up
    const pages = await time(url, 200, (i) => `/api/v1/events?tenant_id=tenant-${i % 20}&event_type=monitor.delete&limit=100`);
    const searches = await time(url, 50, (i) => `/api/v1/events?tenant_id=tenant-${i % 20}&q=user-${(i * 37) % 5000}%40example&limit=100`);
    return [
      { name: 'page query (tenant + event_type, 100 rows)', p50: percentile(pages, 50), p99: percentile(pages, 99), count: pages.length },
      { name: 'q search (tenant + text, 100 rows)', p50: percentile(searches, 50), p99: percentile(searches, 99), count: searches.length },
    ];
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
