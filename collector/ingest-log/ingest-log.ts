/**
 * The ingest log: append-only segments of checksummed frames on local disk, written with
 * group commit (every append waiting while a write runs goes into the next write, one
 * fdatasync for all of them). A request is acknowledged once its frame is synced; the
 * loader and every destination then read the log at positions of their own.
 *
 * Start-up walks every segment's frame headers, checks the newest segment frame by frame
 * against its checksums, and cuts it at the first frame that does not check out (a torn
 * write: logged with its offset). Segments are deleted from the oldest once every reader
 * has passed them, or once the log is over its size and the loader has passed them.
 */
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameError, checkFrame, payloadLengthOf, type FrameContent } from './frame.js';
import { firstFrameAfter, listSegments, segmentName, SegmentReader, type FrameRef } from './segments.js';

export interface IngestLogOptions {
  directory: string;
  segmentBytes: number;
  maxBytes: number;
  log: Logger;
  /** Bytes of written frames' blocks kept in memory for the loader (default 64 MiB). */
  keepBytes?: number;
}

/** The log could not be written: nothing of the request is acknowledged. */
export class LogWriteError extends Error {}

/** The log holds as much as it may: the request is refused whole. */
export class LogFullError extends Error {
  constructor(readonly sizeBytes: number, readonly maxBytes: number) {
    super(`the ingest log is full (${sizeBytes} of ${maxBytes} bytes): the store is not keeping up or is down`);
  }
}

interface Pending {
  content: FrameContent;
  /** What the append counted against max_size while queued. */
  bytes: number;
  resolve: (ref: FrameRef) => void;
  reject: (error: unknown) => void;
}

/** A write gathers appends up to about this many bytes (one frame each). */
const GROUP_BYTES = 16 * 1024 * 1024;

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class IngestLog {
  /** Every frame in the log, oldest first. */
  private frames: FrameRef[] = [];
  private readonly segmentSizes = new Map<number, number>();
  private active: { id: number; handle: FileHandle; size: number } | undefined;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** The next write starts a new segment (after a failed write, whose segment may hold a torn frame). */
  private rotateNext = false;
  private readonly appendListeners: Array<(frame: FrameRef) => void> = [];
  private readonly trimListeners: Array<(segments: number[]) => void> = [];
  readonly reader: SegmentReader;
  /** Bytes of appends queued but not written. */
  private queuedBytes = 0;
  /**
   * Frames' Native blocks kept from their write until the loader takes them, so the loader
   * reads nothing back in the common case (bounded; past the bound it reads the segment).
   */
  private readonly unloaded = new Map<FrameRef, ReadonlyArray<Buffer>>();
  private unloadedBytes = 0;
  lastWriteError: { at: string; message: string } | undefined;

  private constructor(
    private readonly options: IngestLogOptions,
    /** Highest ingest_seq the log has held, also once trimmed away. */
    private lastSeq: number,
  ) {
    this.reader = new SegmentReader(options.directory);
  }

  /** Opens (creating if need be) and recovers the log; `seqFloor`: the highest ingest_seq known used elsewhere. */
  static async open(options: IngestLogOptions, seqFloor: number): Promise<IngestLog> {
    await mkdir(options.directory, { recursive: true, mode: 0o700 });
    const log = new IngestLog(options, seqFloor);
    const segments = await listSegments(options.directory);
    for (const [i, id] of segments.entries()) await log.recoverSegment(id, i === segments.length - 1);
    const last = log.frames[log.frames.length - 1];
    if (last) log.lastSeq = Math.max(log.lastSeq, last.lastSeq);
    return log;
  }

  /** Indexes a segment's frames; the newest is checked whole and cut at a torn or corrupt frame. */
  private async recoverSegment(id: number, newest: boolean): Promise<void> {
    const path = join(this.options.directory, segmentName(id));
    const handle = await open(path, newest ? 'r+' : 'r');
    try {
      const { size } = await handle.stat();
      let offset = 0;
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      while (offset < size) {
        let problem: string | undefined;
        try {
          if (size - offset < FRAME_HEADER_BYTES) throw new FrameError('header cut short');
          await handle.read(header, 0, FRAME_HEADER_BYTES, offset);
          const length = FRAME_HEADER_BYTES + payloadLengthOf(header);
          if (offset + length > size) throw new FrameError('frame cut short');
          const frame = Buffer.allocUnsafe(length);
          if (newest) await handle.read(frame, 0, length, offset);
          else header.copy(frame); // older segments were synced before the next began: headers suffice
          const layout = newest ? checkFrame(frame) : headerLayout(header, length);
          this.frames.push({ ...layout, segment: id, offset });
          offset += length;
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          problem = error.message;
        }
        if (problem !== undefined) {
          this.options.log.error('ingest log: cutting a torn or corrupt frame', { segment: segmentName(id), offset, size, problem });
          if (newest) await handle.truncate(offset);
          break;
        }
      }
      this.segmentSizes.set(id, Math.min(offset, size));
    } finally {
      await handle.close();
    }
  }

  get directory(): string {
    return this.options.directory;
  }

  /** Highest ingest_seq written and synced. */
  get durableSeq(): number {
    return this.lastSeq;
  }

  /** The oldest frame still in the log, if any. */
  get first(): FrameRef | undefined {
    return this.frames[0];
  }

  /** The frame's Native blocks if still held from its write (each frame's once); else read the segment. */
  takeBlocks(ref: FrameRef): ReadonlyArray<Buffer> | undefined {
    const blocks = this.unloaded.get(ref);
    if (!blocks) return undefined;
    this.unloaded.delete(ref);
    this.unloadedBytes -= ref.blocksLength;
    return blocks;
  }

  /** Frames with rows after `after`, oldest first, at most `maxRows` rows (at least one frame). */
  framesAfter(after: number, maxRows = Number.MAX_SAFE_INTEGER): FrameRef[] {
    const out: FrameRef[] = [];
    let rows = 0;
    for (let i = firstFrameAfter(this.frames, after); i < this.frames.length; i++) {
      const frame = this.frames[i]!;
      if (out.length > 0 && rows + frame.rows > maxRows) break;
      out.push(frame);
      rows += frame.rows;
    }
    return out;
  }

  /** Every frame, for a reader starting up. */
  get allFrames(): ReadonlyArray<FrameRef> {
    return this.frames;
  }

  get sizeBytes(): number {
    let bytes = 0;
    for (const size of this.segmentSizes.values()) bytes += size;
    return bytes;
  }

  /** Whether `bytes` more fit under max_size, counting what waits to be written. */
  hasRoomFor(bytes: number): boolean {
    return this.sizeBytes + this.queuedBytes + bytes <= this.options.maxBytes;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Called with each frame once it is synced. */
  onAppend(listener: (frame: FrameRef) => void): void {
    this.appendListeners.push(listener);
  }

  /** Called with the ids of segments once they are deleted. */
  onTrim(listener: (segments: number[]) => void): void {
    this.trimListeners.push(listener);
  }

  /**
   * Writes the content as a frame and resolves once it is synced. Appends resolve in
   * order; a failed write rejects every append it held with LogWriteError.
   */
  append(content: FrameContent, approxBytes: number): Promise<FrameRef> {
    if (this.closed) return Promise.reject(new LogWriteError('the ingest log is closed'));
    return new Promise<FrameRef>((resolve, reject) => {
      this.queue.push({ content, bytes: approxBytes, resolve, reject });
      this.queuedBytes += approxBytes;
      this.writing ??= this.writeQueued();
    });
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || bytes < GROUP_BYTES)) {
        bytes += this.queue[count]!.content.blocks.reduce((n, b) => n + b.length, 0);
        count += 1;
      }
      const group = this.queue.splice(0, count);
      await this.writeGroup(group);
      for (const p of group) this.queuedBytes -= p.bytes; // written, or refused: no longer waiting
    }
    this.writing = undefined;
  }

  /** One frame for the whole group: its rows are contiguous in ingest_seq. */
  private async writeGroup(group: Pending[]): Promise<void> {
    const content = mergeContents(group.map((p) => p.content));
    const { parts, layout } = encodeFrame(content);
    let ref: FrameRef;
    try {
      const segment = await this.segmentFor(layout.length);
      ref = { ...layout, segment: segment.id, offset: segment.size };
      await writeAll(segment.handle, parts, segment.size);
      await segment.handle.datasync();
      segment.size += layout.length;
      this.segmentSizes.set(segment.id, segment.size);
    } catch (error) {
      const message = `cannot write the ingest log: ${(error as Error).message}`;
      this.lastWriteError = { at: new Date().toISOString(), message };
      this.options.log.error('ingest log write failed', { error: (error as Error).message, records: content.rows });
      // The segment may hold part of the frame now: cut it back and go on in a new one.
      if (this.active) await this.active.handle.truncate(this.active.size).catch(() => undefined);
      this.rotateNext = true;
      for (const p of group) p.reject(new LogWriteError(message, { cause: error }));
      return;
    }
    this.lastWriteError = undefined;
    this.frames.push(ref);
    // Rows the loader must check for copies are filtered from a read of the frame: keep only the plain case.
    if (content.checkRows.length === 0 && this.unloadedBytes + layout.blocksLength <= (this.options.keepBytes ?? 64 * 1024 * 1024)) {
      this.unloaded.set(ref, content.blocks);
      this.unloadedBytes += layout.blocksLength;
    }
    this.lastSeq = Math.max(this.lastSeq, ref.lastSeq);
    for (const listener of this.appendListeners) listener(ref);
    for (const p of group) p.resolve(ref);
  }

  /** The segment the next frame goes to: a new one when the current is full (or failed). */
  private async segmentFor(frameBytes: number): Promise<{ id: number; handle: FileHandle; size: number }> {
    if (this.active && !this.rotateNext && (this.active.size === 0 || this.active.size + frameBytes <= this.options.segmentBytes)) return this.active;
    const ids = [...this.segmentSizes.keys()];
    const newestId = ids.length > 0 ? Math.max(...ids) : 0;
    // Reopening the newest segment at start: append to it when there is room.
    if (!this.active && !this.rotateNext && ids.length > 0 && this.segmentSizes.get(newestId)! + frameBytes <= this.options.segmentBytes) {
      const handle = await open(join(this.options.directory, segmentName(newestId)), 'r+');
      this.active = { id: newestId, handle, size: this.segmentSizes.get(newestId)! };
      return this.active;
    }
    await this.active?.handle.close();
    this.active = undefined;
    const id = newestId + 1;
    const handle = await open(join(this.options.directory, segmentName(id)), 'wx', 0o600);
    // The new name must survive a crash as much as the frames written to it.
    await syncDirectory(this.options.directory);
    this.segmentSizes.set(id, 0);
    this.active = { id, handle, size: 0 };
    this.rotateNext = false;
    return this.active;
  }

  /**
   * Deletes segments, oldest first, whose frames all lie at or below `through` (never
   * the newest one). Returns the ids deleted.
   */
  async trim(through: number): Promise<number[]> {
    const deleted: number[] = [];
    const ids = [...this.segmentSizes.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      // The newest segment stays even when not open for writing: it holds the newest ingest_seq.
      if (id === this.active?.id || id === ids[ids.length - 1]) break;
      const newestFrame = this.lastFrameOf(id);
      if (newestFrame && newestFrame.lastSeq > through) break;
      await unlink(join(this.options.directory, segmentName(id))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      this.segmentSizes.delete(id);
      deleted.push(id);
    }
    if (deleted.length > 0) {
      const gone = new Set(deleted);
      this.frames = this.frames.filter((f) => !gone.has(f.segment));
      await this.reader.forget(deleted);
      for (const listener of this.trimListeners) listener(deleted);
    }
    return deleted;
  }

  private lastFrameOf(segment: number): FrameRef | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i]!.segment === segment) return this.frames[i];
    return undefined;
  }

  /** Waits for writes in flight, then closes the files. Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    await this.active?.handle.close();
    this.active = undefined;
    await this.reader.close();
  }
}

function headerLayout(header: Buffer, length: number) {
  return {
    afterSeq: Number(header.readBigUInt64LE(12)),
    lastSeq: Number(header.readBigUInt64LE(20)),
    rows: header.readUInt32LE(28),
    length,
    blocksLength: header.readUInt32LE(32),
    receivedLength: header.readUInt32LE(36),
    // Not needed to index a frame; read from the frame itself when it is loaded.
    checkCount: -1,
  };
}

/** The contents of consecutive appends as one frame's content. */
function mergeContents(contents: FrameContent[]): FrameContent {
  if (contents.length === 1) return contents[0]!;
  const rows = contents.reduce((n, c) => n + c.rows, 0);
  const anyReceived = contents.some((c) => c.received);
  const lengths = anyReceived ? new Uint32Array(rows) : undefined;
  const checkRows: number[] = [];
  let at = 0;
  for (const c of contents) {
    if (c.received) lengths!.set(c.received.lengths, at);
    for (const row of c.checkRows) checkRows.push(at + row);
    at += c.rows;
  }
  return {
    afterSeq: contents[0]!.afterSeq,
    lastSeq: contents[contents.length - 1]!.lastSeq,
    rows,
    blocks: contents.flatMap((c) => c.blocks),
    received: anyReceived ? { data: contents.flatMap((c) => c.received?.data ?? []), lengths: lengths! } : undefined,
    checkRows,
  };
}

/** Writes the buffers at `position`, in writev calls of a bounded number of buffers, resuming after short writes. */
async function writeAll(handle: FileHandle, parts: Buffer[], position: number): Promise<void> {
  let index = 0;
  let offset = 0;
  let at = position;
  while (index < parts.length) {
    const batch = [parts[index]!.subarray(offset), ...parts.slice(index + 1, index + 512)];
    let { bytesWritten } = await handle.writev(batch, at);
    at += bytesWritten;
    while (index < parts.length && bytesWritten >= parts[index]!.length - offset) {
      bytesWritten -= parts[index]!.length - offset;
      index += 1;
      offset = 0;
    }
    offset += bytesWritten;
  }
}

