/**
 * Reads back the Native blocks row-encoding.ts writes (the inverse of NativeWriter, for
 * the types it uses): the export thread takes freshly committed rows from these blocks
 * instead of reading them out of the engine again.
 *
 * A block: varint column count, varint row count, then per column its name, its type and
 * its values. Blocks concatenate, so a buffer may hold several.
 */

/** A column's values by type: numbers for UInt8/16/64, exact decimal strings for DateTime64. */
export type NativeValue = string | number | Record<string, string>;

export interface NativeBlock {
  rows: number;
  columns: Map<string, NativeValue[]>;
}

export class NativeFormatError extends Error {}

const TWO_POW_32 = 4_294_967_296;

class Cursor {
  position = 0;

  constructor(readonly buffer: Buffer) {}

  need(bytes: number): void {
    if (this.position + bytes > this.buffer.length) throw new NativeFormatError('Native data ends in the middle of a value');
  }

  varUInt(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.buffer[this.position++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new NativeFormatError('Native varint longer than 10 bytes');
  }

  string(): string {
    const length = this.varUInt();
    this.need(length);
    const start = this.position;
    this.position += length;
    return this.buffer.toString('utf8', start, this.position);
  }

  uint64(): number {
    this.need(8);
    const value = this.buffer.readUInt32LE(this.position) + this.buffer.readUInt32LE(this.position + 4) * TWO_POW_32;
    this.position += 8;
    return value;
  }
}

function readValues(c: Cursor, type: string, rows: number): NativeValue[] {
  const values: NativeValue[] = new Array(rows);
  if (type === 'String') {
    for (let i = 0; i < rows; i++) values[i] = c.string();
  } else if (type === 'UInt64') {
    for (let i = 0; i < rows; i++) values[i] = c.uint64();
  } else if (type.startsWith('DateTime64(')) {
    c.need(rows * 8);
    for (let i = 0; i < rows; i++) values[i] = c.buffer.readBigInt64LE(c.position + i * 8).toString();
    c.position += rows * 8;
  } else if (type === 'UInt8') {
    c.need(rows);
    for (let i = 0; i < rows; i++) values[i] = c.buffer[c.position + i]!;
    c.position += rows;
  } else if (type === 'UInt16') {
    c.need(rows * 2);
    for (let i = 0; i < rows; i++) values[i] = c.buffer.readUInt16LE(c.position + i * 2);
    c.position += rows * 2;
  } else if (type === 'Map(String, String)') {
    // Cumulative entry counts per row, then every key, then every value.
    const ends: number[] = new Array(rows);
    for (let i = 0; i < rows; i++) ends[i] = c.uint64();
    const total = rows > 0 ? ends[rows - 1]! : 0;
    const keys: string[] = new Array(total);
    for (let i = 0; i < total; i++) keys[i] = c.string();
    let entry = 0;
    for (let i = 0; i < rows; i++) {
      const map: Record<string, string> = {};
      for (; entry < ends[i]!; entry++) {
        const key = keys[entry]!;
        const value = c.string();
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

/** Every block in `data`, in order. */
export function readNativeBlocks(data: Buffer): NativeBlock[] {
  const c = new Cursor(data);
  const blocks: NativeBlock[] = [];
  while (c.position < data.length) {
    const columnCount = c.varUInt();
    const rows = c.varUInt();
    const columns = new Map<string, NativeValue[]>();
    for (let i = 0; i < columnCount; i++) {
      const name = c.string();
      const type = c.string();
      columns.set(name, readValues(c, type, rows));
    }
    blocks.push({ rows, columns });
  }
  return blocks;
}
