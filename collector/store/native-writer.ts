/**
 * Writes values in ClickHouse's Native format (the engine's own columnar block layout) to
 * a growing Buffer. The engine reads these blocks about four times faster than the same
 * rows as TabSeparated (measured on chDB: 1.9 vs 7.4 µs a row), and writing them needs no
 * escaping: a string is its length and its UTF-8 bytes.
 *
 * Layout of a block: varint column count, varint row count, then per column its name, its
 * type and its values. String: varint byte length + bytes. UInt8/16/64, Int64: little
 * endian. Map(K, V): the cumulative entry count per row (UInt64), then all keys, then all
 * values.
 */

/** Strings shorter than this fit in 127 UTF-8 bytes, so their length is one varint byte. */
const ONE_BYTE_LENGTH_CHARS = 42;
const TWO_POW_32 = 4_294_967_296;

export class NativeWriter {
  private buffer: Buffer;
  private position = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    const needed = this.position + bytes;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.position);
    this.buffer = grown;
  }

  varUInt(value: number): void {
    this.ensure(10);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.position++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buffer[this.position++] = rest;
  }

  string(value: string): void {
    const length = value.length;
    if (length < ONE_BYTE_LENGTH_CHARS) {
      // At most 3 bytes a UTF-16 unit: the length fits one byte whatever the text.
      this.ensure(1 + length * 3);
      const buffer = this.buffer;
      const start = this.position + 1;
      // Short ASCII text is copied here: a call into Buffer#write costs more than the copy.
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[start + i] = code;
      }
      const written = i === length ? length : buffer.write(value, start, 'utf8');
      buffer[this.position] = written;
      this.position = start + written;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varUInt(bytes);
    this.ensure(bytes);
    this.position += this.buffer.write(value, this.position, 'utf8');
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }

  uint16(value: number): void {
    this.ensure(2);
    this.position = this.buffer.writeUInt16LE(value, this.position);
  }

  uint32(value: number): void {
    this.ensure(4);
    this.position = this.buffer.writeUInt32LE(value, this.position);
  }

  /** Raw bytes (FixedString). */
  bytes(value: Buffer): void {
    this.ensure(value.length);
    this.position += value.copy(this.buffer, this.position);
  }

  /** A non-negative integer up to 2^53 as UInt64. */
  uint64(value: number): void {
    this.ensure(8);
    this.buffer.writeUInt32LE(value % TWO_POW_32, this.position);
    this.buffer.writeUInt32LE(Math.floor(value / TWO_POW_32), this.position + 4);
    this.position += 8;
  }

  /** An Int64 given as a decimal string (exact beyond 2^53). */
  int64(decimal: string): void {
    this.ensure(8);
    this.position = this.buffer.writeBigInt64LE(BigInt(decimal), this.position);
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.position);
  }
}
