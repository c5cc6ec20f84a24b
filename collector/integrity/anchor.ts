/**
 * Anchoring outside the box: each checkpoint is sent, as an OTLP log record with
 * event_name `audit.checkpoint`, to every config destination with `checkpoints: true`, so
 * a SIEM holds copies the sidecar cannot change. A copy held elsewhere is what makes the
 * deletion of the newest checkpoints (and their rows) evident.
 *
 * Sent as OTLP/JSON, in order, retried with backoff until the receiver takes it; the last
 * checkpoint a destination took (to_seq) is kept in the key directory, and a start sends
 * what it has not taken yet from audit.checkpoints.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { backoffMs } from '../backoff.js';
import type { Destination } from '../export/destination.js';
import type { Logger } from '../log.js';
import { checkpointText, type Checkpoint } from './checkpoint.js';
import { checkpointOfRow, type CheckpointRow, type Sealer } from './sealer.js';

const str = (key: string, value: string | number) => ({ key, value: { stringValue: String(value) } });

/** One checkpoint as an OTLP/JSON ExportLogsServiceRequest. */
export function checkpointRecord(c: Checkpoint) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', 'audit-sidecar'), str('audit.collector.id', c.collector_id)] },
        scopeLogs: [
          {
            scope: { name: 'audit-sidecar.integrity' },
            logRecords: [
              {
                timeUnixNano: `${BigInt(Date.parse(c.created_at)) * 1_000_000n}`,
                eventName: 'audit.checkpoint',
                severityNumber: 9,
                severityText: 'INFO',
                body: { stringValue: checkpointText(c) },
                attributes: [
                  str('event.name', 'audit.checkpoint'),
                  ...Object.entries(c).map(([key, value]) => str(`audit.checkpoint.${key}`, value)),
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

class AnchorQueue {
  private queue: Checkpoint[] = [];
  private sending = false;
  private failures = 0;

  constructor(
    private readonly destination: Destination,
    private readonly positionFile: string,
    private readonly log: Logger,
  ) {}

  push(c: Checkpoint): void {
    this.queue.push(c);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      try {
        const response = await fetch(this.destination.endpoint, {
          method: 'POST',
          headers: { ...this.destination.headers, 'content-type': 'application/json' },
          body: JSON.stringify(checkpointRecord(c)),
          signal: AbortSignal.timeout(this.destination.timeoutMs),
          redirect: 'manual',
        });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        this.queue.shift();
        this.failures = 0;
        await writeFile(this.positionFile, String(c.to_seq));
      } catch (error) {
        if (this.failures === 0) this.log.warn('integrity: could not send a checkpoint to its anchor; retrying', { destination: this.destination.id, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, backoffMs(this.failures++, this.destination.retry.initialIntervalMs, this.destination.retry.maxIntervalMs)).unref());
      }
    }
    this.sending = false;
  }
}

/** Starts anchoring to the destinations with `checkpoints: true`: what they missed first, then each new checkpoint. */
export async function startAnchoring(options: {
  sealer: Sealer;
  destinations: ReadonlyArray<Destination>;
  client: ClickHouseClient;
  database: string;
  collectorId: string;
  keyDirectory: string;
  log: Logger;
}): Promise<void> {
  for (const destination of options.destinations.filter((d) => d.checkpoints)) {
    const positionFile = join(options.keyDirectory, `anchor-${destination.id}.position`);
    const queue = new AnchorQueue(destination, positionFile, options.log);
    const taken = Number((await readFile(positionFile, 'utf8').catch(() => '0')).trim()) || 0;
    const result = await options.client.query({
      query: `SELECT collector_id, from_seq, to_seq, count, merkle_root, prev_hash, toUnixTimestamp64Milli(created_at) AS created_ms, key_id, signature
              FROM ${options.database}.checkpoints WHERE collector_id = {c:String} AND to_seq > {a:UInt64} ORDER BY to_seq`,
      query_params: { c: options.collectorId, a: taken },
      format: 'JSONEachRow',
    });
    for (const row of await result.json<CheckpointRow>()) queue.push(checkpointOfRow(row));
    options.sealer.onCheckpoint((c) => queue.push(c));
  }
}
