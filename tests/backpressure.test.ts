/**
 * Backpressure before the ingest log: when more records wait for the log's disk than
 * processors.batch.max_pending_records, ingest answers 429 with Retry-After and keeps
 * nothing of the refused request; what was answered 200 is stored, all of it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar | undefined;
afterAll(async () => {
  await sidecar?.stop();
});

describe('backpressure', () => {
  it('answers 429 + Retry-After over max_pending_records and stores exactly the requests answered 200', async () => {
    sidecar = await startTestSidecar({ dataDir: tempDir('audit-backpressure-'), batch: { max_pending_records: 10 } });
    const requests = Array.from({ length: 30 }, (_, r) => Array.from({ length: 8 }, (_, i) => `bp-${r}-${i}`));
    const answers = await Promise.all(
      requests.map((ids) =>
        fetch(`${sidecar!.ingestUrl}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: encodeProtobuf(otlpRequest(ids.map((id) => ({ eventName: 'bp.load', attributes: { 'user.id': 'u', 'log.record.uid': id } })))),
        }),
      ),
    );
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    for (const answer of refused) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    const accepted = requests.filter((_, i) => answers[i]!.status === 200).flat().sort();
    const stored = (await queryRows<{ event_id: string }>(sidecar, "SELECT event_id FROM audit.events WHERE event_type = 'bp.load'")).map((r) => r.event_id).sort();
    expect(stored).toEqual(accepted);
  });
});
