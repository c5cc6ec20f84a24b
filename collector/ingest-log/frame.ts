/**
 * One frame of the ingest log: the rows of one group commit, checksummed.
 *
 *   offset  size  field
 *   0       4     magic "ASL1"
 *   4       4     payload length (bytes after the 40-byte header)
 *   8       4     CRC-32 of bytes 12 .. end of payload (header fields and payload)
 *   12      8     afterSeq: the frame holds rows with afterSeq < ingest_seq <= lastSeq
 *   20      8     lastSeq
 *   28      4     rows
 *   32      4     blocks length: the rows as ClickHouse Native blocks, first in the payload
 *   36      4     received length: records' bytes as received (OTLP protobuf), after the blocks;
 *                 when non-zero, one u32 length per row follows them (0: that row has none)
 *   then          u32 indexes of the rows the loader must check for copies already stored
 *                 (to the end of the payload)
 *
 * Little-endian throughout. The CRC covers the header too, so a frame whose length field
 * was torn cannot pass as another.
 */
import { crc32 } from 'node:zlib';

export const FRAME_MAGIC = 0x314c5341; // "ASL1" read as a little-endian u32
export const FRAME_HEADER_BYTES = 40;
/** No frame is larger: a longer length field is corruption, not a frame. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024 * 1024;

export interface FrameContent {
  afterSeq: number;
  lastSeq: number;
  rows: number;
  /** Native blocks, back to back. */
  blocks: ReadonlyArray<Buffer>;
  /** Records' bytes as received, and one length per row; undefined when none has any. */
  received: { data: ReadonlyArray<Buffer>; lengths: Uint32Array } | undefined;
  /** Rows (0-based, across the blocks) whose copies the loader checks for before inserting. */
  checkRows: ReadonlyArray<number>;
}

/** Where the parts of a frame lie, relative to the frame's first byte. */
export interface FrameLayout {
  afterSeq: number;
  lastSeq: number;
  rows: number;
  /** Header plus payload. */
  length: number;
  blocksLength: number;
  receivedLength: number;
  checkCount: number;
}

export const receivedStart = (f: FrameLayout) => FRAME_HEADER_BYTES + f.blocksLength;
export const lengthsStart = (f: FrameLayout) => receivedStart(f) + f.receivedLength;
export const checksStart = (f: FrameLayout) => lengthsStart(f) + (f.receivedLength > 0 ? f.rows * 4 : 0);

const sum = (parts: ReadonlyArray<Buffer>) => parts.reduce((n, p) => n + p.length, 0);

/** The frame as buffers to write one after another (no copy of the blocks). */
export function encodeFrame(content: FrameContent): { parts: Buffer[]; layout: FrameLayout } {
  const blocksLength = sum(content.blocks);
  const receivedLength = content.received ? sum(content.received.data) : 0;
  const lengths = receivedLength > 0 ? Buffer.from(content.received!.lengths.buffer, content.received!.lengths.byteOffset, content.rows * 4) : undefined;
  const checks = Buffer.from(Uint32Array.from(content.checkRows).buffer);
  const payloadLength = blocksLength + receivedLength + (lengths?.length ?? 0) + checks.length;
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(FRAME_MAGIC, 0);
  header.writeUInt32LE(payloadLength, 4);
  header.writeBigUInt64LE(BigInt(content.afterSeq), 12);
  header.writeBigUInt64LE(BigInt(content.lastSeq), 20);
  header.writeUInt32LE(content.rows, 28);
  header.writeUInt32LE(blocksLength, 32);
  header.writeUInt32LE(receivedLength, 36);
  // Empty parts are left out: zlib.crc32 of a Buffer over an empty ArrayBuffer returns 0, not the running value.
  const payload: Buffer[] = [...content.blocks, ...(receivedLength > 0 ? content.received!.data : []), ...(lengths ? [lengths] : []), checks].filter((p) => p.length > 0);
  let crc = crc32(header.subarray(12));
  for (const part of payload) crc = crc32(part, crc);
  header.writeUInt32LE(crc, 8);
  const layout: FrameLayout = {
    afterSeq: content.afterSeq,
    lastSeq: content.lastSeq,
    rows: content.rows,
    length: FRAME_HEADER_BYTES + payloadLength,
    blocksLength,
    receivedLength,
    checkCount: content.checkRows.length,
  };
  return { parts: [header, ...payload], layout };
}

export class FrameError extends Error {}

/** The payload length a header announces, or a FrameError when the header is not one. */
export function payloadLengthOf(header: Buffer): number {
  if (header.length < FRAME_HEADER_BYTES) throw new FrameError('short header');
  if (header.readUInt32LE(0) !== FRAME_MAGIC) throw new FrameError('bad magic');
  const length = header.readUInt32LE(4);
  if (length > MAX_FRAME_PAYLOAD) throw new FrameError(`payload length ${length} is beyond any frame`);
  return length;
}

/** Checks a whole frame (header and payload) and returns its layout; throws FrameError when it does not check out. */
export function checkFrame(frame: Buffer): FrameLayout {
  const payloadLength = payloadLengthOf(frame);
  if (frame.length !== FRAME_HEADER_BYTES + payloadLength) throw new FrameError('frame is cut short');
  if (crc32(frame.subarray(12)) !== frame.readUInt32LE(8)) throw new FrameError('checksum mismatch');
  const layout: FrameLayout = {
    afterSeq: Number(frame.readBigUInt64LE(12)),
    lastSeq: Number(frame.readBigUInt64LE(20)),
    rows: frame.readUInt32LE(28),
    length: frame.length,
    blocksLength: frame.readUInt32LE(32),
    receivedLength: frame.readUInt32LE(36),
    checkCount: 0,
  };
  const fixed = FRAME_HEADER_BYTES + layout.blocksLength + layout.receivedLength + (layout.receivedLength > 0 ? layout.rows * 4 : 0);
  if (fixed > frame.length || (frame.length - fixed) % 4 !== 0 || layout.lastSeq < layout.afterSeq) throw new FrameError('inconsistent lengths');
  layout.checkCount = (frame.length - fixed) / 4;
  return layout;
}

/** The parts of a frame read back whole. */
export function frameParts(frame: Buffer, layout: FrameLayout) {
  const lengthsAt = lengthsStart(layout);
  const received = layout.receivedLength > 0
    ? { data: frame.subarray(receivedStart(layout), lengthsAt), lengths: new Uint32Array(frame.buffer.slice(frame.byteOffset + lengthsAt, frame.byteOffset + lengthsAt + layout.rows * 4)) }
    : undefined;
  const checksAt = checksStart(layout);
  const checkRows = new Uint32Array(frame.buffer.slice(frame.byteOffset + checksAt, frame.byteOffset + checksAt + layout.checkCount * 4));
  return { blocks: frame.subarray(FRAME_HEADER_BYTES, receivedStart(layout)), received, checkRows };
}
