/**
 * Counts records in a JSON or NDJSON body on its bytes, chunk by chunk as they arrive,
 * before anything is parsed, and throws RecordLimitError at the first record past the
 * limit: a body of millions of `{}` costs a scan of the first `limit` of them, not millions
 * of objects. The scan knows strings (quotes and escapes), so brackets and commas inside
 * them do not count; it does not validate the JSON, JSON.parse does that afterwards.
 */
import { RecordLimitError } from '../../collector/receivers/record-limit.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const NEWLINE = 0x0a;

/** Longest key kept for comparison; the keys we look for are short. */
const MAX_KEY_BYTES = 256;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** What a counter counts: the top-level array's items, or the items of arrays under these keys. */
export type CountTarget = { topLevel: true } | { keys: ReadonlyArray<string> };

export interface RecordCounter {
  /** Feeds the next bytes of the body; throws RecordLimitError past the limit. */
  feed(chunk: Uint8Array): void;
  readonly count: number;
}

export class JsonItemCounter implements RecordCounter {
  count = 0;
  // Per open container: whether it is a counted array, and whether its current item started.
  private readonly counted: boolean[] = [];
  private readonly hasItem: boolean[] = [];
  private inString = false;
  private escaped = false;
  private key: number[] = []; // the bytes of the string being read or last read
  private keyOverflow = false;
  private afterColon = false;

  constructor(
    private readonly limit: number,
    private readonly target: CountTarget,
  ) {}

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) {
          this.inString = false;
          continue;
        }
        if (this.key.length < MAX_KEY_BYTES) this.key.push(byte);
        else this.keyOverflow = true;
        continue;
      }
      if (isSpace(byte)) continue;
      if (byte === QUOTE) {
        this.valueStarts();
        this.inString = true;
        this.key = [];
        this.keyOverflow = false;
        this.afterColon = false;
        continue;
      }
      if (byte === COLON) {
        this.afterColon = true;
        continue;
      }
      if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        this.valueStarts();
        const isCounted = byte === OPEN_ARRAY && ('topLevel' in this.target ? this.counted.length === 0 : this.afterColon && this.keyMatches());
        this.counted.push(isCounted);
        this.hasItem.push(false);
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
        this.counted.pop();
        this.hasItem.pop();
      } else if (byte === COMMA) {
        if (this.hasItem.length > 0) this.hasItem[this.hasItem.length - 1] = false;
      } else this.valueStarts(); // a number, true, false or null
      this.afterColon = false;
    }
  }

  private valueStarts(): void {
    const depth = this.counted.length - 1;
    if (depth >= 0 && this.counted[depth] && !this.hasItem[depth]) {
      this.hasItem[depth] = true;
      if (++this.count > this.limit) throw new RecordLimitError(this.limit);
    }
  }

  private keyMatches(): boolean {
    if (!('keys' in this.target) || this.keyOverflow) return false;
    const raw = Buffer.from(this.key).toString('utf8');
    if (this.target.keys.includes(raw)) return true;
    // A key spelled with escapes ("log\u0052ecords") is the same key to JSON.parse.
    if (!raw.includes('\\')) return false;
    try {
      return this.target.keys.includes(JSON.parse(`"${raw}"`) as string);
    } catch {
      return false;
    }
  }
}

/** Non-blank lines of an NDJSON body. */
export class NdjsonLineCounter implements RecordCounter {
  count = 0;
  private blank = true;

  constructor(private readonly limit: number) {}

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === NEWLINE) this.endLine();
      else if (!isSpace(byte)) this.blank = false;
    }
  }

  /** Counts a last line without a newline. */
  end(): void {
    this.endLine();
  }

  private endLine(): void {
    if (!this.blank && ++this.count > this.limit) throw new RecordLimitError(this.limit);
    this.blank = true;
  }
}

export function countJsonItems(body: Uint8Array, limit: number, target: CountTarget): number {
  const counter = new JsonItemCounter(limit, target);
  counter.feed(body);
  return counter.count;
}

export function countNdjsonLines(body: Uint8Array, limit: number): number {
  const counter = new NdjsonLineCounter(limit);
  counter.feed(body);
  counter.end();
  return counter.count;
}
