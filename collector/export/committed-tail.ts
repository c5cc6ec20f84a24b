/**
 * The newest committed rows, kept by the export thread as the commits' own Native blocks
 * (with the bytes OTLP records arrived in, where export may send those as they are), so a
 * destination that keeps up is fed without reading its rows back out of the engine.
 * Reads there cost the engine about as much as ingesting the rows did (rows of a sequence
 * range lie scattered over the sort key), and under full load they halved ingest.
 *
 * Each commit covers a range of ingest_seq, (afterSeq, lastSeq]: every row committed with
 * a number in it is in its blocks. Commits chain when one starts where the last ended; a
 * gap (a failed commit, whose rows may still have reached the store) starts the chain
 * again. A read is answered here only when the chain covers all of it; anything older or
 * outside goes to the store, which stays the source of truth.
 */
import { AUDIT_EVENT_COLUMNS } from '../../schemas/audit-event.js';
import { indexNativeBlocks, readNativeColumn, type NativeBlockIndex, type NativeValue } from '../store/native-reader.js';
import type { ReceivedRecords } from '../store/row-encoding.js';
import type { ExportRow, RowFilter } from './row-reader.js';

export interface CommittedRange {
  /** The commit holds every committed row with afterSeq < ingest_seq <= lastSeq. */
  afterSeq: number;
  lastSeq: number;
}

interface TailEntry extends CommittedRange {
  data: Buffer;
  blocks: NativeBlockIndex[];
  received: ReceivedRecords | undefined;
  /** Parsed on first use; kept for the newest few entries only. */
  rows: ExportRow[] | undefined;
}

/** Entries whose parsed rows are kept: other destinations reading the same rows soon reuse them. */
const PARSED_ENTRIES = 2;

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

export class CommittedTail {
  private entries: TailEntry[] = [];
  private bytes = 0;
  private parsed: TailEntry[] = [];

  constructor(private readonly maxBytes: number) {}

  /** Where the chain starts and ends, or undefined when it holds nothing. */
  get range(): CommittedRange | undefined {
    const first = this.entries[0];
    const last = this.entries[this.entries.length - 1];
    return first && last ? { afterSeq: first.afterSeq, lastSeq: last.lastSeq } : undefined;
  }

  /**
   * A commit's blocks (an empty buffer when all its rows were duplicates), and its records'
   * bytes as received. Checked whole here, so rows decoded later cannot fail: data that
   * does not check out throws and is not kept (the store serves those rows instead).
   */
  add(range: CommittedRange, data: Buffer, received?: ReceivedRecords): void {
    const blocks = indexNativeBlocks(data);
    if (received) checkReceived(blocks, received);
    const last = this.entries[this.entries.length - 1];
    if (last && last.lastSeq !== range.afterSeq) this.clear();
    this.entries.push({ ...range, data, blocks, received, rows: undefined });
    this.bytes += data.length + (received?.data.length ?? 0);
    // The newest commit stays even when it alone is over the limit.
    while (this.bytes > this.maxBytes && this.entries.length > 1) {
      const dropped = this.entries.shift()!;
      this.bytes -= dropped.data.length + (dropped.received?.data.length ?? 0);
      this.parsed = this.parsed.filter((e) => e !== dropped);
    }
  }

  clear(): void {
    this.entries = [];
    this.parsed = [];
    this.bytes = 0;
  }

  /**
   * Up to `limit` rows with after < ingest_seq <= through that pass `filter`, oldest first;
   * undefined when the chain does not cover all of (after, through].
   */
  read(after: number, through: number, limit: number, filter: RowFilter): ExportRow[] | undefined {
    const range = this.range;
    if (!range || after < range.afterSeq || through > range.lastSeq) return undefined;
    const rows: ExportRow[] = [];
    for (const entry of this.entries) {
      if (entry.lastSeq <= after) continue;
      if (entry.afterSeq >= through) break;
      for (const row of this.rowsOf(entry)) {
        if (row.seq <= after) continue;
        if (row.seq > through) break;
        if (!passes(row, filter)) continue;
        rows.push(row);
        if (rows.length === limit) return rows;
      }
    }
    return rows;
  }

  private rowsOf(entry: TailEntry): ExportRow[] {
    if (entry.rows) return entry.rows;
    entry.rows = exportRowsOf(entry.data, entry.received, entry.blocks);
    this.parsed.push(entry);
    if (this.parsed.length > PARSED_ENTRIES) this.parsed.shift()!.rows = undefined;
    return entry.rows;
  }
}
