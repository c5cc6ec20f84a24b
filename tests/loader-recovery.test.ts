/**
 * What the loader does with what a restart finds in the ingest log: frames left unloaded
 * by a stop while the store was failing are loaded at the next start, and a frame damaged
 * on disk after it was synced (in an older segment, which start-up does not re-check) is
 * reported with its place and skipped, without holding back the frames after it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../collector/log.js';
import type { Sidecar } from '../collector/sidecar.js';
import { FRAME_HEADER_BYTES } from '../collector/ingest-log/frame.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';
import { waitFor } from './support/otlp-receiver.js';
import { countRows, startTestSidecar, tempDir, type TestConfigOptions } from './support/sidecar.js';

let sidecar: Sidecar | undefined;
afterAll(async () => {
  await sidecar?.stop();
});

const errors: Array<{ msg: string; fields: unknown }> = [];
const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg, fields) => errors.push({ msg, fields }), child: () => log };

function send(eventName: string, count: number) {
  const records = Array.from({ length: count }, (_, i) => ({ eventName, attributes: { 'user.id': 'u', 'log.record.uid': `${eventName}-${i}` } }));
  return fetch(`${sidecar!.ingestUrl}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeProtobuf(otlpRequest(records)) });
}

describe('loader recovery', () => {
  it('loads at the next start what a stop left in the log, skipping a frame damaged on disk', async () => {
    const dataDir = tempDir('audit-loader-');
    // Every frame in a segment of its own; a stop gives the loader 300 ms.
    const options: TestConfigOptions = { dataDir, ingestLog: { segment_size: '1KiB' }, shutdownTimeout: '300ms' };
    sidecar = await startTestSidecar(options, log);
    await sidecar.store.readClient.command({ query: 'DETACH TABLE audit.events' }); // undone by the restart
    expect((await send('recovery.damaged', 3)).status).toBe(200);
    expect((await send('recovery.kept', 2)).status).toBe(200);
    await waitFor(() => sidecar!.store.loader.status.state === 'retrying', 10_000, 'the loader to fail');
    await sidecar.stop();
    sidecar = undefined;
    expect(errors.some((e) => e.msg.startsWith('loader: insert into ClickHouse failed'))).toBe(true);

    // Damage one payload byte of the older segment's frame.
    const logDir = join(dataDir, 'ingest-log');
    const segments = readdirSync(logDir).filter((n) => n.endsWith('.seg')).sort();
    expect(segments.length).toBe(2);
    const older = join(logDir, segments[0]!);
    const bytes = readFileSync(older);
    bytes[FRAME_HEADER_BYTES + 3] = bytes[FRAME_HEADER_BYTES + 3]! ^ 0xff;
    writeFileSync(older, bytes);

    sidecar = await startTestSidecar(options, log);
    expect(await countRows(sidecar, "event_type = 'recovery.kept'")).toBe(2);
    expect(await countRows(sidecar, "event_type = 'recovery.damaged'")).toBe(0);
    expect(sidecar.store.loader.status.unreadable_records).toBe(3);
    expect(errors.find((e) => /no longer matches its checksum/.test(e.msg))?.fields).toMatchObject({ segment: Number(segments[0]!.slice(0, 20)), offset: 0, records: 3 });
  }, 60_000);
});
