/**
 * Export's view of the ingest log, on the export thread: the frames the log holds (told by
 * the main thread as they are synced and trimmed), read straight from the segment files,
 * so a destination inside the log never costs the engine a read. Rows of a frame are the
 * frame's own Native blocks, with the bytes OTLP records arrived in where export may send
 * those as they are. A read is answered here only when the log still holds everything
 * after its start; anything older is in ClickHouse, which the caller reads instead.
 */
import { AUDIT_EVENT_COLUMNS } from '../../schemas/audit-event.js';
import { indexNativeBlocks, readNativeColumn, type NativeBlockIndex, type NativeValue } from '../store/native-reader.js';
import type { ReceivedRecords } from '../store/row-encoding.js';
import { frameParts } from '../ingest-log/frame.js';
import { firstFrameAfter, SegmentGoneError, SegmentReader, type FrameRef } from '../ingest-log/segments.js';
import type { ExportRow, RowFilter } from './row-reader.js';

/** Frames whose parsed rows are kept: other destinations reading the same rows soon reuse them. */
const PARSED_FRAMES = 4;

/** Columns an ExportRow does not have (ingest_seq is its `seq`, read eagerly). */
const NOT_EXPORTED = new Set(['ingest_seq', 'collector_id', 'received_at', 'retention_days']);

/** Every ExportRow field but seq and wire, with the column it comes from: each is named as its column but occurred_ns. */
const FIELD_COLUMNS: ReadonlyArray<readonly [string, string]> = AUDIT_EVENT_COLUMNS.filter((c) => !NOT_EXPORTED.has(c.name)).map((c) => [
  c.name === 'occurred_at' ? 'occurred_ns' : c.name,
  c.name,
]);

/** One block's columns, each decoded the first time one of its rows reads it. */
class BlockColumns {
  private readonly decoded = new Map<string, NativeValue[]>();

  constructor(
    private readonly data: Buffer,
    private readonly index: NativeBlockIndex,
  ) {}

  values(name: string): NativeValue[] {
    let values = this.decoded.get(name);
    if (!values) {
      const column = this.index.columns.get(name);
      if (!column) throw new Error(`committed block has no ${name} column`);
      values = readNativeColumn(this.data, column, this.index.rows);
      this.decoded.set(name, values);
    }
    return values;
  }
}

/**
 * A committed row. Its fields are getters: a record that arrived as OTLP is exported from
 * its raw text, so most of its columns are never read and never decoded.
 */
class TailRow {
  constructor(
    readonly seq: number,
    readonly block: BlockColumns,
    readonly index: number,
    readonly wire: Uint8Array | undefined,
  ) {}
}
// The getters below give a TailRow every ExportRow field.
interface TailRow extends Omit<ExportRow, 'seq' | 'wire'> {}
for (const [field, column] of FIELD_COLUMNS) {
  Object.defineProperty(TailRow.prototype, field, {
    get(this: TailRow) {
      return this.block.values(column)[this.index];
    },
    enumerable: true,
  });
}

/** Throws unless `received` has one length per row of the blocks and exactly the bytes they add up to. */
function checkReceived(blocks: ReadonlyArray<NativeBlockIndex>, received: ReceivedRecords): void {
  const rows = blocks.reduce((n, b) => n + b.rows, 0);
  const bytes = received.lengths.reduce((n, l) => n + l, 0);
  if (rows !== received.lengths.length || bytes !== received.data.length) {
    throw new Error(`committed blocks hold ${rows} rows but ${received.lengths.length} received lengths (${bytes} of ${received.data.length} bytes) came with them`);
  }
}

/**
 * The rows of committed blocks, as export reads them from the store, with their bytes as
 * received where known. `blocks` (the blocks' index) is computed when not given.
 */
export function exportRowsOf(data: Buffer, received?: ReceivedRecords, blocks: ReadonlyArray<NativeBlockIndex> = indexNativeBlocks(data)): ExportRow[] {
  if (received) checkReceived(blocks, received);
  const rows: ExportRow[] = [];
  let row = 0;
  let at = 0;
  for (const index of blocks) {
    const block = new BlockColumns(data, index);
    const seq = block.values('ingest_seq') as number[];
    for (let i = 0; i < index.rows; i++, row++) {
      const length = received?.lengths[row] ?? 0;
      rows.push(new TailRow(seq[i]!, block, i, length > 0 ? received!.data.subarray(at, at + length) : undefined));
      at += length;
    }
  }
  return rows;
}

/** The same test as the store read's WHERE clause. */
function passes(row: ExportRow, filter: RowFilter): boolean {
  return (filter.tenant === undefined || row.tenant_id === filter.tenant) && (filter.eventTypes === undefined || filter.eventTypes.includes(row.event_type));
}

export class LogTail {
  private frames: FrameRef[] = [];
  private readonly reader: SegmentReader;
  private parsed: Array<{ frame: FrameRef; rows: ExportRow[] }> = [];

  constructor(directory: string) {
    this.reader = new SegmentReader(directory);
  }

  /** The log's frames at start-up. */
  reset(frames: ReadonlyArray<FrameRef>): void {
    this.frames = [...frames];
    this.parsed = [];
  }

  /** A frame was synced. */
  appended(frame: FrameRef): void {
    this.frames.push(frame);
  }

  /** Segments were deleted: their frames are read from ClickHouse from now on. */
  trimmed(segments: ReadonlyArray<number>): void {
    const gone = new Set(segments);
    this.frames = this.frames.filter((f) => !gone.has(f.segment));
    this.parsed = this.parsed.filter((p) => !gone.has(p.frame.segment));
    void this.reader.forget(segments);
  }

  /** The log holds every row after this; undefined when it holds nothing. */
  get startsAfter(): number | undefined {
    return this.frames[0]?.afterSeq;
  }

  /**
   * Up to `limit` rows with after < ingest_seq <= through that pass `filter`, oldest first;
   * undefined when the log no longer holds all of (after, through].
   */
  async read(after: number, through: number, limit: number, filter: RowFilter): Promise<ExportRow[] | undefined> {
    const start = this.startsAfter;
    if (start === undefined || after < start) return undefined;
    const rows: ExportRow[] = [];
    for (const frame of this.framesAfter(after)) {
      if (frame.afterSeq >= through) break;
      let frameRows: ExportRow[];
      try {
        frameRows = await this.rowsOf(frame);
      } catch (error) {
        if (error instanceof SegmentGoneError) return undefined;
        throw error;
      }
      for (const row of frameRows) {
        if (row.seq <= after) continue;
        if (row.seq > through) break;
        if (!passes(row, filter)) continue;
        rows.push(row);
        if (rows.length === limit) return rows;
      }
    }
    return rows;
  }

  private framesAfter(after: number): FrameRef[] {
    return this.frames.slice(firstFrameAfter(this.frames, after));
  }

  private async rowsOf(frame: FrameRef): Promise<ExportRow[]> {
    const cached = this.parsed.find((p) => p.frame === frame);
    if (cached) return cached.rows;
    const read = await this.reader.read(frame);
    const { blocks, received } = frameParts(read.data, read.layout);
    const rows = exportRowsOf(blocks, received);
    this.parsed.push({ frame, rows });
    if (this.parsed.length > PARSED_FRAMES) this.parsed.shift();
    return rows;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}
