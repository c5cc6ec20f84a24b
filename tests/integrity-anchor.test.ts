/**
 * Anchoring: a destination with `checkpoints: true` receives every signed checkpoint as an
 * OTLP log record (event_name audit.checkpoint) whose signature verifies with the public
 * key, beside the events it subscribes to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import type { Sidecar } from '../collector/sidecar.js';
import { signatureValid, type Checkpoint } from '../collector/integrity/checkpoint.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';
import { attr, startReceiver, waitFor, type TestReceiver } from './support/otlp-receiver.js';

let sidecar: Sidecar;
let siem: TestReceiver;

beforeAll(async () => {
  siem = await startReceiver();
  sidecar = await startTestSidecar({ dataDir: tempDir(), destinations: { siem: { endpoint: siem.url, checkpoints: true, compression: 'none' } } });
});
afterAll(async () => {
  await sidecar?.stop();
  await siem?.close();
});

describe('anchoring', () => {
  it('sends each checkpoint to the destination as an audit.checkpoint log record', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${sidecar.ingestUrl}/v1/audit/canonical`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ id: `e-${i}`, event_type: 'doc.read', actor: { id: 'u' } }]) });
      expect(response.status).toBe(200);
      await sidecar.store.readable(10_000);
    }
    const stored = await queryRows<{ to_seq: string }>(sidecar, 'SELECT to_seq FROM audit.checkpoints ORDER BY to_seq');
    const anchored = () => siem.accepted.filter((r) => r.eventName === 'audit.checkpoint');
    await waitFor(() => anchored().length === stored.length, 10_000, 'checkpoints anchored');
    const key = createPublicKey(sidecar.store.sealer!.signingKey);
    for (const [i, record] of anchored().entries()) {
      const field = (name: string) => attr(record, `audit.checkpoint.${name}`)!;
      const c: Checkpoint = {
        collector_id: field('collector_id'), from_seq: Number(field('from_seq')), to_seq: Number(field('to_seq')), count: Number(field('count')),
        merkle_root: field('merkle_root'), prev_hash: field('prev_hash'), created_at: field('created_at'), key_id: field('key_id'), signature: field('signature'),
      };
      expect(c.to_seq).toBe(Number(stored[i]!.to_seq));
      expect(signatureValid(c, key)).toBe(true);
    }
    await waitFor(() => siem.accepted.filter((r) => r.eventName === 'doc.read').length === 3, 10_000, 'events exported beside them');
  });
});
