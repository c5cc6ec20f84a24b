/**
 * The ingest log on real files: frames survive a reopen, segments roll over at their
 * size, a torn or corrupt tail is cut at the last whole frame, trimming never takes the
 * segment being written, and appends resolve in order with one frame per group.
 */
import { appendFileSync, readdirSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IngestLog } from '../collector/ingest-log/ingest-log.js';
import { frameParts, FRAME_HEADER_BYTES } from '../collector/ingest-log/frame.js';
import { segmentName } from '../collector/ingest-log/segments.js';
import type { Logger } from '../collector/log.js';
import { tempDir } from './support/sidecar.js';

function recordingLogger() {
  const errors: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = [];
  const log: Logger = {
    debug() {}, info() {}, warn() {},
    error: (msg, fields) => errors.push({ msg, fields: fields as Record<string, unknown> | undefined }),
    child: () => log,
  };
  return { log, errors };
}

/** A frame of `rows` rows after `after`, with recognisable block bytes. */
function content(after: number, rows: number, fill = after % 251) {
  return {
    afterSeq: after,
    lastSeq: after + rows,
    rows,
    blocks: [Buffer.alloc(rows * 100, fill)],
    received: { data: [Buffer.from('received'.repeat(rows))], lengths: Uint32Array.from({ length: rows }, () => 8) },
    checkRows: rows > 1 ? [1] : [],
  };
}

async function open(directory: string, log = recordingLogger().log, segmentBytes = 64 * 1024) {
  return IngestLog.open({ directory, segmentBytes, maxBytes: 1024 * 1024, log }, 0);
}

describe('ingest log', () => {
  it('keeps every synced frame across a reopen, with its parts intact', async () => {
    const dir = tempDir('audit-log-');
    const first = await open(dir);
    const appended = await Promise.all([first.append(content(0, 3), 300), first.append(content(3, 2), 200)]);
    // Appends waiting behind a write share one frame (group commit), or each is written: either way in order.
    expect(appended[1]!.lastSeq).toBe(5);
    await first.append(content(5, 4), 400);
    await first.close();

    const again = await open(dir);
    expect(again.durableSeq).toBe(9);
    const frames = again.framesAfter(0);
    expect(frames[0]!.afterSeq).toBe(0);
    expect(frames[frames.length - 1]!.lastSeq).toBe(9);
    const last = frames[frames.length - 1]!;
    const read = await again.reader.read(last);
    const parts = frameParts(read.data, read.layout);
    expect(parts.blocks).toEqual(Buffer.alloc(400, 5));
    expect([...parts.received!.lengths]).toEqual([8, 8, 8, 8]);
    expect([...parts.checkRows]).toEqual([1]);
    // A reader resumes after any position.
    expect(again.framesAfter(4).map((f) => f.lastSeq)).toEqual(frames.filter((f) => f.lastSeq > 4).map((f) => f.lastSeq));
    await again.close();
  });

  it('cuts a torn tail at the last whole frame, says where, and appends after it', async () => {
    const dir = tempDir('audit-log-');
    const log = await open(dir);
    for (let i = 0; i < 3; i++) await log.append(content(i * 10, 10), 1000);
    await log.close();
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.seg'))!);
    const whole = statSync(file).size;
    const frameBytes = whole / 3;
    truncateSync(file, whole - Math.floor(frameBytes / 2)); // the newest frame, torn in its payload

    const { log: logger, errors } = recordingLogger();
    const reopened = await open(dir, logger);
    expect(reopened.durableSeq).toBe(20);
    expect(statSync(file).size).toBe(2 * frameBytes);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.fields).toMatchObject({ offset: 2 * frameBytes, problem: 'frame cut short' });
    const next = await reopened.append(content(20, 5), 500);
    expect(next).toMatchObject({ afterSeq: 20, lastSeq: 25, offset: 2 * frameBytes });
    await reopened.close();
    expect((await open(dir)).durableSeq).toBe(25);
  });

  it('cuts at a frame whose bytes do not match its checksum, and at garbage after the last frame', async () => {
    const dir = tempDir('audit-log-');
    const log = await open(dir);
    for (let i = 0; i < 3; i++) await log.append(content(i * 10, 10), 1000);
    await log.close();
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.seg'))!);
    const frameBytes = statSync(file).size / 3;
    const bytes = readFileSync(file);
    const at = frameBytes + FRAME_HEADER_BYTES + 7; // a byte in the second frame's payload
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);
    const { log: logger, errors } = recordingLogger();
    const reopened = await open(dir, logger);
    expect(reopened.durableSeq).toBe(10);
    expect(errors[0]!.fields).toMatchObject({ offset: frameBytes, problem: 'checksum mismatch' });
    await reopened.close();

    appendFileSync(file, Buffer.from('not a frame at all, just bytes after the last one'));
    const { log: logger2, errors: errors2 } = recordingLogger();
    const again = await open(dir, logger2);
    expect(again.durableSeq).toBe(10);
    expect(errors2[0]!.fields).toMatchObject({ offset: frameBytes });
    await again.close();
  });

  it('rolls over to new segments and trims the ones every reader has passed, never the one being written', async () => {
    const dir = tempDir('audit-log-');
    const log = await open(dir, recordingLogger().log, 4 * 1024);
    for (let i = 0; i < 10; i++) await log.append(content(i * 10, 10), 1000); // ~1.2 KB frames: 3 to a segment
    const segments = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    expect(segments.length).toBeGreaterThanOrEqual(4);
    expect(log.sizeBytes).toBe(segments.reduce((n, s) => n + statSync(join(dir, s)).size, 0));
    const deleted = await log.trim(35);
    expect(deleted.length).toBeGreaterThan(0);
    expect(log.first!.afterSeq).toBeLessThanOrEqual(35); // every row after 35 is still there
    expect(readdirSync(dir)).not.toContain(segmentName(deleted[0]!));
    await log.trim(Number.MAX_SAFE_INTEGER);
    expect(log.framesAfter(0).length).toBeGreaterThan(0); // the segment being written stays
    expect(log.durableSeq).toBe(100);
    await log.close();
    const reopened = await open(dir);
    expect(reopened.durableSeq).toBe(100);
    await reopened.close();
  });

  it('keeps the highest number it ever held, also once everything is trimmed, and knows when it is full', async () => {
    const dir = tempDir('audit-log-');
    const log = await IngestLog.open({ directory: dir, segmentBytes: 2048, maxBytes: 8 * 1024, log: recordingLogger().log }, 500);
    expect(log.durableSeq).toBe(500);
    await log.append(content(500, 10), 1000);
    expect(log.hasRoomFor(1024)).toBe(true);
    expect(log.hasRoomFor(8 * 1024)).toBe(false);
    await log.close();
  });
});
