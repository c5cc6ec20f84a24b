/**
 * Export -> a second sidecar (its own process and data directory) -> the same rows, apart
 * from received_at, collector_id and ingest_seq.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../collector/paths.js';
import type { Sidecar } from '../collector/sidecar.js';
import { waitFor } from './support/otlp-receiver.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const CLI = join(projectRoot(), 'dist/collector/cli/main.js');
let first: Sidecar | undefined;
let second: ReturnType<typeof spawn> | undefined;

afterAll(async () => {
  await first?.stop();
  if (second && second.exitCode === null) second.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const COMPARED = `event_id, tenant_id, toString(occurred_at) AS occurred_at, event_type, action, outcome, actor_id, actor_name,
  actor_email, actor_type, client_ip, user_agent, team_id, project_id, resource_type, resource_id, resource_name,
  request_method, request_url, message, changes, metadata, attributes, resource_attributes, service_name,
  severity_text, severity_number, trace_id, span_id, source, raw, retention_days`;

describe('round trip through a second sidecar', () => {
  it('stores identical rows', async () => {
    const dir = tempDir('audit-roundtrip-');
    const port = await freePort();
    const config = join(dir, 'second.yaml');
    writeFileSync(config, `receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } } }
processors: { batch: { timeout: 10ms } }
exporters: { clickhouse: { endpoint: "embedded://${join(dir, 'second-data')}" } }
service: { collector_id: second, pipelines: { p: { receivers: [otlp], exporters: [clickhouse] } } }
`);
    second = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true, 30_000, 'second sidecar');

    first = await startTestSidecar({
      dataDir: join(dir, 'first-data'),
      destinations: { second: { endpoint: `http://127.0.0.1:${port}/v1/logs`, max_batch_size: 50, start_from: 'earliest' } },
    });
    const now = BigInt(Date.now()) * 1_000_000n;
    const records = Array.from({ length: 120 }, (_, i) => ({
      eventName: i % 2 ? 'project.update' : 'user.login',
      timeUnixNano: String(now - BigInt(i) * 1_000_123n),
      body: `record ${i} with "quotes", tabs\tand ünïcode`,
      severityNumber: i % 3 ? 9 : 17,
      attributes: {
        'log.record.uid': `rt-${i}`,
        'user.id': `u-${i % 7}`,
        'user.email': `u${i % 7}@example.com`,
        'audit.resource.type': 'project',
        'audit.resource.id': `p-${i}`,
        'audit.changes': JSON.stringify({ name: { old: 'a', new: `b${i}` } }),
        'http.request.method': 'PATCH',
        custom: `value ${i}`,
        count: i,
      },
    }));
    const response = await fetch(`${first.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeProtobuf(otlpRequest(records, { 'service.name': 'billing', 'tenant.id': 'acme', 'host.name': 'h1' })),
    });
    expect(response.status).toBe(200);
    await waitFor(() => first!.exports.get('second')!.worker.status.exported_records >= 120, 30_000, 'export');

    second.kill('SIGTERM');
    await new Promise((resolve) => second!.once('exit', resolve));
    const exported = spawnSync(process.execPath, [CLI, 'sql', `SELECT ${COMPARED} FROM audit.events ORDER BY event_id`, '--config', config, '--format', 'JSONEachRow'], {
      encoding: 'utf8',
    });
    expect(exported.status).toBe(0);
    const theirs = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const ours = await queryRows(first, `SELECT ${COMPARED} FROM audit.events ORDER BY event_id`);
    expect(theirs).toHaveLength(120);
    expect(theirs).toEqual(ours);
  });
});
