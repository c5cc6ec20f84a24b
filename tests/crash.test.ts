/**
 * kill -9 under load, three times: every acknowledged event is in ClickHouse after the
 * restarts, and each exactly once (counted without FINAL). The loader inserts only every
 * second here, so each kill leaves acknowledged events that only the ingest log holds, and
 * an insert may be cut short: the restart replays the log and checks what is stored.
 */
import { describe, expect, it } from 'vitest';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { freePort, runCli, startCli, waitHealthy, writeCliConfig } from './support/process.js';
import { tempDir } from './support/sidecar.js';

const dir = tempDir('audit-crash-');
const CLIENTS = 4;
const RECORDS_PER_REQUEST = 25;

const writeConfig = (port: number) => writeCliConfig(dir, port, 'crash-test', { sendBatchSize: 2000, timeout: '1s' });

/** Sends requests of unique events from CLIENTS loops until stopped; returns the ids acknowledged. */
function load(port: number, round: number) {
  const acknowledged: string[] = [];
  let stopped = false;
  let sent = 0;
  const loops = Array.from({ length: CLIENTS }, async (_, client) => {
    while (!stopped) {
      const ids = Array.from({ length: RECORDS_PER_REQUEST }, (_, i) => `r${round}-c${client}-${sent}-${i}`);
      sent += 1;
      const body = encodeProtobuf(otlpRequest(ids.map((id) => ({ eventName: 'crash.load', attributes: { 'user.id': 'u', 'log.record.uid': id } }))));
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        if (response.status === 200) acknowledged.push(...ids);
      } catch {
        return; // the process died under the request: its events are not acknowledged
      }
    }
  });
  return { acknowledged, stop: async () => { stopped = true; await Promise.all(loops); } };
}

describe('kill -9 under load', () => {
  it('loses nothing acknowledged and stores each event once, across three crashes', async () => {
    const port = await freePort();
    const config = writeConfig(port);
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) {
      const sidecar = startCli(config);
      await waitHealthy(port);
      const running = load(port, round);
      await new Promise((r) => setTimeout(r, 1_500 + round * 300));
      sidecar.child.kill('SIGKILL');
      await sidecar.exited;
      await running.stop();
      acknowledged.push(...running.acknowledged);
      expect(running.acknowledged.length).toBeGreaterThan(0);
    }
    // A last start replays what the log holds; a clean stop loads the rest.
    const last = startCli(config);
    await waitHealthy(port);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const result = runCli(['sql', 'SELECT event_id FROM audit.events', '--config', config, '--format', 'TSV']);
    expect(result.status, result.stderr).toBe(0);
    const stored = result.stdout.trim().split('\n');
    const distinct = new Set(stored);
    expect(stored.length).toBe(distinct.size); // each exactly once, without FINAL
    const missing = acknowledged.filter((id) => !distinct.has(id));
    expect(missing).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(1_000);
  }, 120_000);
});
