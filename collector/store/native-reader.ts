/**
 * Reads back the Native blocks row-encoding.ts writes (the inverse of NativeWriter, for
 * the types it uses): the export thread takes freshly committed rows from these blocks
 * instead of reading them out of the engine again.
 *
 * A block: varint column count, varint row count, then per column its name, its type and
 * its values, each value encoded as in RowBinary. Blocks concatenate, so a buffer may hold
 * several.
 */
import { RowBinaryReader } from './row-binary-reader.js';

/** A column's values by type: numbers for UInt8/16/64, exact decimal strings for DateTime64. */
export type NativeValue = string | number | Record<string, string>;

/** Where a column's values start in the buffer, and their type. */
export interface NativeColumn {
  type: string;
  start: number;
}

export interface NativeBlockIndex {
  rows: number;
  columns: Map<string, NativeColumn>;
}

export class NativeFormatError extends Error {}

function readValues(r: RowBinaryReader, type: string, rows: number): NativeValue[] {
  const values: NativeValue[] = new Array(rows);
  if (type === 'String') for (let i = 0; i < rows; i++) values[i] = r.string();
  else if (type === 'UInt64') for (let i = 0; i < rows; i++) values[i] = r.uint64();
  else if (type.startsWith('DateTime64(')) for (let i = 0; i < rows; i++) values[i] = r.int64Decimal();
  else if (type === 'UInt8') for (let i = 0; i < rows; i++) values[i] = r.uint8();
  else if (type === 'UInt16') for (let i = 0; i < rows; i++) values[i] = r.uint16();
  else if (type === 'Map(String, String)') {
    // Cumulative entry counts per row, then every key, then every value.
    const ends: number[] = new Array(rows);
    for (let i = 0; i < rows; i++) ends[i] = r.uint64();
    const total = rows > 0 ? ends[rows - 1]! : 0;
    const keys: string[] = new Array(total);
    for (let i = 0; i < total; i++) keys[i] = r.string();
    let entry = 0;
    for (let i = 0; i < rows; i++) {
      const map: Record<string, string> = {};
      for (; entry < ends[i]!; entry++) {
        const key = keys[entry]!;
        const value = r.string();
        if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
        else map[key] = value;
      }
      values[i] = map;
    }
  } else {
    throw new NativeFormatError(`no Native decoding for column type ${type}`);
  }
  return values;
}

/** Moves past a column's values without decoding them. */
function skipValues(r: RowBinaryReader, type: string, rows: number): void {
  if (type === 'String') for (let i = 0; i < rows; i++) r.skipString();
  else if (type === 'UInt64' || type.startsWith('DateTime64(')) r.skip(rows * 8);
  else if (type === 'UInt8') r.skip(rows);
  else if (type === 'UInt16') r.skip(rows * 2);
  else if (type === 'Map(String, String)') {
    if (rows === 0) return;
    r.skip((rows - 1) * 8);
    const entries = r.uint64(); // the last cumulative count: all the keys, then all the values
    for (let i = 0; i < entries * 2; i++) r.skipString();
  } else {
    throw new NativeFormatError(`no Native decoding for column type ${type}`);
  }
}

/** Where every block and column in `data` starts, found by skipping over the values: no text is decoded. */
export function indexNativeBlocks(data: Buffer): NativeBlockIndex[] {
  const r = new RowBinaryReader(data);
  const blocks: NativeBlockIndex[] = [];
  while (!r.done) {
    const columnCount = r.varUInt();
    const rows = r.varUInt();
    const columns = new Map<string, NativeColumn>();
    for (let i = 0; i < columnCount; i++) {
      const name = r.string();
      const type = r.string();
      columns.set(name, { type, start: r.offset });
      skipValues(r, type, rows);
    }
    blocks.push({ rows, columns });
  }
  return blocks;
}

/** One column's values, located by indexNativeBlocks(). */
export function readNativeColumn(data: Buffer, column: NativeColumn, rows: number): NativeValue[] {
  return readValues(new RowBinaryReader(data, column.start), column.type, rows);
}

/** The row count of the block `data` starts with. */
export function nativeBlockRows(data: Buffer): number {
  const r = new RowBinaryReader(data);
  r.varUInt(); // columns
  return r.varUInt();
}
