/**
 * Reads ClickHouse's RowBinary output: each row's values one after another, strings as a
 * varint byte length and their UTF-8 bytes, integers little endian, Map(K, V) as a varint
 * entry count and the pairs. The engine writes it with no escaping (cheaper than JSON rows:
 * 28 against 38 µs of engine CPU a 2 KB row, measured) and reading it builds no
 * intermediate text. Native blocks encode values the same way, column after column, so
 * native-reader.ts reads them with this too.
 */
export class RowBinaryReader {
  constructor(
    private readonly buffer: Buffer,
    private position = 0,
  ) {}

  get done(): boolean {
    return this.position >= this.buffer.length;
  }

  /** Where the next value starts. */
  get offset(): number {
    return this.position;
  }

  /** Moves past `bytes` bytes of values. */
  skip(bytes: number): void {
    this.need(bytes);
    this.position += bytes;
  }

  /** Moves past a string without decoding it. */
  skipString(): void {
    this.skip(this.varUInt());
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.buffer.length) throw new RangeError('RowBinary data ends in the middle of a value');
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
    throw new RangeError('RowBinary varint longer than 10 bytes');
  }

  string(): string {
    const length = this.varUInt();
    this.need(length);
    const start = this.position;
    this.position += length;
    return this.buffer.toString('utf8', start, this.position);
  }

  uint8(): number {
    this.need(1);
    return this.buffer[this.position++]!;
  }

  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16LE(this.position);
    this.position += 2;
    return value;
  }

  /** An Int64 as an exact decimal string. */
  int64Decimal(): string {
    this.need(8);
    const value = this.buffer.readBigInt64LE(this.position);
    this.position += 8;
    return value.toString();
  }

  /** A UInt64 below 2^53. */
  uint64(): number {
    this.need(8);
    const value = this.buffer.readUInt32LE(this.position) + this.buffer.readUInt32LE(this.position + 4) * 4_294_967_296;
    this.position += 8;
    return value;
  }

  stringMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (let n = this.varUInt(); n > 0; n--) {
      const key = this.string();
      const value = this.string();
      if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      else map[key] = value;
    }
    return map;
  }
}
