/**
 * The canonical serialization of a stored row, the bytes every leaf hashes:
 *
 *   every contract column of audit.events, in the order of schemas/audit-event.ts
 *   (event_id, tenant_id, occurred_at, … retention_days, collector_id, ingest_seq),
 *   each value in ClickHouse's RowBinary encoding for the column's type:
 *     String / LowCardinality(String): LEB128 byte length, then the UTF-8 bytes
 *     DateTime64(9, 'UTC'): Int64 nanoseconds since the epoch, little endian
 *     UInt8 / UInt16 / UInt64: little endian
 *     Map(LowCardinality(String), String): LEB128 entry count, then key, value, key, value…
 *       in the map's stored order
 *
 * That is what `formatRow('RowBinary', <columns>)` returns in the engine, so verify lets
 * ClickHouse hash stored rows itself, and it is what the Native blocks the loader inserts
 * hold, column by column, so the loader hashes the bytes it already has (no JSON, no
 * re-encoding). leaf = SHA-256(0x00 || canonical row) (RFC 6962).
 *
 * retention_days is hashed with its value when the row was loaded: `retention apply` and
 * legal holds change it legitimately, so verify hashes a row with the leaf's load-time
 * value and checks the current one against the leaf's expiry instead.
 */
import { hash } from 'node:crypto';
import { AUDIT_EVENT_COLUMNS } from '../../schemas/audit-event.js';
import { indexNativeBlocks, type NativeColumn } from '../store/native-reader.js';
import { RowBinaryReader } from '../store/row-binary-reader.js';
import { NativeWriter } from '../store/native-writer.js';

export const CANONICAL_COLUMNS: ReadonlyArray<{ name: string; type: string }> = AUDIT_EVENT_COLUMNS;

/**
 * The engine-side leaf of a row of `alias` (events), with retention_days taken from
 * `retentionExpr`: SHA-256 of 0x00 and the canonical row.
 */
export function leafSql(alias: string, retentionExpr: string): string {
  const columns = CANONICAL_COLUMNS.map((c) => (c.name === 'retention_days' ? `toUInt16(${retentionExpr})` : `${alias}.${c.name}`));
  return `SHA256(concat(char(0), formatRow('RowBinary', ${columns.join(', ')})))`;
}

/** The leaves of a load, with what the leaves table keeps beside each. */
export interface RowLeaves {
  seqs: number[];
  eventIds: string[];
  tenants: string[];
  /** occurred_at in whole seconds. */
  occurredAt: number[];
  retentionDays: number[];
  leaves: Buffer[];
}

export const emptyLeaves = (): RowLeaves => ({ seqs: [], eventIds: [], tenants: [], occurredAt: [], retentionDays: [], leaves: [] });

const FIXED_WIDTH: Record<string, number> = { UInt8: 1, UInt16: 2, UInt64: 8 };

/** Value boundaries of a column: value i is data[bounds[i] .. bounds[i+1]). */
function stringBounds(data: Buffer, start: number, count: number): Int32Array {
  const bounds = new Int32Array(count + 1);
  const r = new RowBinaryReader(data, start);
  for (let i = 0; i < count; i++) {
    bounds[i] = r.offset;
    r.skipString();
  }
  bounds[count] = r.offset;
  return bounds;
}

type ColumnSlices =
  | { kind: 'fixed'; start: number; width: number }
  | { kind: 'string'; bounds: Int32Array }
  | { kind: 'map'; ends: Float64Array; keys: Int32Array; values: Int32Array };

function slicesOf(data: Buffer, column: NativeColumn, rows: number): ColumnSlices {
  const width = FIXED_WIDTH[column.type] ?? (column.type.startsWith('DateTime64(') ? 8 : 0);
  if (width > 0) return { kind: 'fixed', start: column.start, width };
  if (column.type === 'String') return { kind: 'string', bounds: stringBounds(data, column.start, rows) };
  if (column.type === 'Map(String, String)') {
    const ends = new Float64Array(rows);
    for (let i = 0; i < rows; i++) ends[i] = data.readUInt32LE(column.start + i * 8) + data.readUInt32LE(column.start + i * 8 + 4) * 4_294_967_296;
    const total = rows > 0 ? ends[rows - 1]! : 0;
    const keys = stringBounds(data, column.start + rows * 8, total);
    const values = stringBounds(data, keys[total]!, total);
    return { kind: 'map', ends, keys, values };
  }
  throw new Error(`no canonical encoding for Native column type ${column.type}`);
}

function copy(data: Buffer, out: Buffer, at: number, start: number, end: number): number {
  const length = end - start;
  // A call into Buffer#copy costs more than copying a few bytes here.
  if (length <= 24) for (let i = 0; i < length; i++) out[at + i] = data[start + i]!;
  else data.copy(out, at, start, end);
  return at + length;
}

function varUInt(out: Buffer, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

/**
 * Leaves of the rows in Native blocks as the loader inserts them (row-encoding.ts), for
 * the rows `keep(ingest_seq)` accepts, in block order.
 */
export function leavesOfNativeBlocks(data: Buffer, keep: (seq: number) => boolean, into: RowLeaves = emptyLeaves()): RowLeaves {
  for (const index of indexNativeBlocks(data)) {
    const rows = index.rows;
    const slices = CANONICAL_COLUMNS.map((c) => {
      const column = index.columns.get(c.name);
      if (!column) throw new Error(`Native block lacks column ${c.name}`);
      return slicesOf(data, column, rows);
    });
    const column = (name: string) => index.columns.get(name)!;
    const seqAt = column('ingest_seq').start;
    const occurredAt = column('occurred_at').start;
    const retentionAt = column('retention_days').start;
    const ids = slices[0] as { bounds: Int32Array };
    const tenants = slices[1] as { bounds: Int32Array };
    // A canonical row is some of the block's bytes rearranged, plus a prefix and map counts.
    const out = scratchFor(blockBytes(index.columns, slices, rows) + 1 + 10 * slices.length);
    for (let row = 0; row < rows; row++) {
      const seq = data.readUInt32LE(seqAt + row * 8) + data.readUInt32LE(seqAt + row * 8 + 4) * 4_294_967_296;
      if (!keep(seq)) continue;
      const rowStart = 0;
      let at = rowStart;
      out[at++] = 0; // RFC 6962 leaf prefix
      for (const s of slices) {
        if (s.kind === 'fixed') at = copy(data, out, at, s.start + row * s.width, s.start + (row + 1) * s.width);
        else if (s.kind === 'string') at = copy(data, out, at, s.bounds[row]!, s.bounds[row + 1]!);
        else {
          const first = row === 0 ? 0 : s.ends[row - 1]!;
          const last = s.ends[row]!;
          at = varUInt(out, at, last - first);
          for (let e = first; e < last; e++) {
            at = copy(data, out, at, s.keys[e]!, s.keys[e + 1]!);
            at = copy(data, out, at, s.values[e]!, s.values[e + 1]!);
          }
        }
      }
      into.leaves.push(hash('sha256', out.subarray(rowStart, at), 'buffer'));
      into.seqs.push(seq);
      into.eventIds.push(data.toString('utf8', ids.bounds[row]! + lengthPrefix(data, ids.bounds[row]!), ids.bounds[row + 1]!));
      into.tenants.push(data.toString('utf8', tenants.bounds[row]! + lengthPrefix(data, tenants.bounds[row]!), tenants.bounds[row + 1]!));
      into.occurredAt.push(Number(data.readBigInt64LE(occurredAt + row * 8) / 1_000_000_000n));
      into.retentionDays.push(data.readUInt16LE(retentionAt + row * 2));
    }
  }
  return into;
}

let scratch = Buffer.alloc(0);

/** A buffer of at least `bytes` for one canonical row at a time, reused. */
function scratchFor(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 64 * 1024));
  return scratch;
}

/** Bytes from the first column's start to the end of the last of the block's canonical columns. */
function blockBytes(columns: ReadonlyMap<string, NativeColumn>, slices: ReadonlyArray<ColumnSlices>, rows: number): number {
  let start = Number.POSITIVE_INFINITY;
  for (const column of columns.values()) start = Math.min(start, column.start);
  let end = start;
  for (const s of slices) {
    if (s.kind === 'fixed') end = Math.max(end, s.start + s.width * rows);
    else if (s.kind === 'string') end = Math.max(end, s.bounds[rows]!);
    else end = Math.max(end, s.values[s.values.length - 1]!);
  }
  return end - start;
}

/** Bytes of the LEB128 length in front of the string at `at`. */
function lengthPrefix(data: Buffer, at: number): number {
  let n = 1;
  while (data[at + n - 1]! >= 0x80) n++;
  return n;
}

/**
 * A row as proofs carry it: every contract column, DateTime64 as nanoseconds and UInt64
 * as decimal strings, maps as [key, value] pairs in stored order (a JSON object would
 * reorder integer-like keys).
 */
export type ProofRow = Record<string, string | number | Array<[string, string]>>;

/** The canonical bytes of a proof's row (the same bytes formatRow('RowBinary', …) gives). */
export function canonicalRowOf(row: ProofRow): Buffer {
  const w = new NativeWriter(4096);
  for (const { name, type } of CANONICAL_COLUMNS) {
    const value = row[name];
    if (value === undefined) throw new Error(`the row lacks column ${name}`);
    if (type.startsWith('Map(')) {
      const pairs = value as Array<[string, string]>;
      w.varUInt(pairs.length);
      for (const [k, v] of pairs) {
        w.string(k);
        w.string(v);
      }
    } else if (type.startsWith('DateTime64')) w.int64(String(value));
    else if (type === 'UInt8') w.uint8(Number(value));
    else if (type === 'UInt16') w.uint16(Number(value));
    else if (type === 'UInt64') w.int64(String(value));
    else w.string(String(value));
  }
  return Buffer.from(w.finish());
}
