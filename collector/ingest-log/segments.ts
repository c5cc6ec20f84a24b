/**
 * Segment files of the ingest log: `<20-digit id>.seg` in one directory, each a run of
 * frames (frame.ts). Reading a frame back is shared by the main thread (the loader) and
 * the export thread, which open the files themselves: no bytes cross between threads.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFrame, type FrameLayout } from './frame.js';

/** A frame read back and checked, with its layout as the frame itself gives it. */
export interface ReadFrame {
  data: Buffer;
  layout: FrameLayout;
}

export const SEGMENT_SUFFIX = '.seg';

export const segmentName = (id: number) => `${String(id).padStart(20, '0')}${SEGMENT_SUFFIX}`;

/** A frame and where it lies. */
export interface FrameRef extends FrameLayout {
  segment: number;
  offset: number;
}

/** Index of the first frame with rows after `after` (frames are in ingest_seq order). */
export function firstFrameAfter(frames: ReadonlyArray<FrameRef>, after: number): number {
  let lo = 0;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid]!.lastSeq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Segment ids in the directory, oldest first. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => /^\d{20}\.seg$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** The frame's segment is gone (trimmed): its rows are in ClickHouse. */
export class SegmentGoneError extends Error {}

/** Reads frames out of segment files, keeping a handle per segment open. */
export class SegmentReader {
  private readonly handles = new Map<number, Promise<FileHandle>>();

  constructor(private readonly dir: string) {}

  private handle(segment: number): Promise<FileHandle> {
    let handle = this.handles.get(segment);
    if (!handle) {
      handle = open(join(this.dir, segmentName(segment)), 'r');
      this.handles.set(segment, handle);
      handle.catch(() => this.handles.delete(segment));
    }
    return handle;
  }

  /** The whole frame, checked against its checksum. */
  async read(ref: FrameRef): Promise<ReadFrame> {
    let handle: FileHandle;
    try {
      handle = await this.handle(ref.segment);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SegmentGoneError(`segment ${ref.segment} was trimmed`);
      throw error;
    }
    const frame = Buffer.allocUnsafe(ref.length);
    const { bytesRead } = await handle.read(frame, 0, ref.length, ref.offset);
    if (bytesRead !== ref.length) throw new Error(`segment ${ref.segment}: frame at ${ref.offset} is cut short`);
    return { data: frame, layout: checkFrame(frame) };
  }

  /** Closes handles of segments that are gone. */
  async forget(segments: Iterable<number>): Promise<void> {
    for (const segment of segments) {
      const handle = this.handles.get(segment);
      this.handles.delete(segment);
      await handle?.then((h) => h.close()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.forget([...this.handles.keys()]);
  }
}
