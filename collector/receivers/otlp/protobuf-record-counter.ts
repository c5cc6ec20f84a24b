/**
 * Counts the LogRecords of a protobuf ExportLogsServiceRequest chunk by chunk as the body
 * arrives, following only the path request.resource_logs.scope_logs.log_records and
 * skipping everything else by its length, and throws RecordLimitError at the first record
 * past the limit. So a body of millions of empty records is refused after the first
 * `limit` of them, before the rest is even read. It validates nothing: the decoder does.
 */
import type { RecordCounter } from '../../../pipelines/json/count-items.js';
import { RecordLimitError } from '../record-limit.js';

type Kind = 'request' | 'resourceLogs' | 'scopeLogs';
type Mode = 'tag' | 'length' | 'varint' | 'skip' | 'stopped';

/** The LEN field that leads one level down the path, by the level it is in. */
const DESCEND: Record<Kind, { field: number; into: Kind | 'record' }> = {
  request: { field: 1, into: 'resourceLogs' },
  resourceLogs: { field: 2, into: 'scopeLogs' },
  scopeLogs: { field: 2, into: 'record' },
};

export class ProtobufRecordCounter implements RecordCounter {
  count = 0;
  private pos = 0; // absolute offset of the next byte
  private readonly frames: Array<{ kind: Kind; end: number }> = [{ kind: 'request', end: Infinity }];
  private mode: Mode = 'tag';
  private value = 0; // the varint being read
  private shift = 1;
  private varintBytes = 0;
  private next: Kind | 'record' | 'skip' = 'skip'; // what the length being read belongs to
  private skipUntil = 0;

  constructor(private readonly limit: number) {}

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && this.mode !== 'stopped') {
      if (this.mode === 'skip') {
        const step = Math.min(chunk.length - i, this.skipUntil - this.pos);
        i += step;
        this.pos += step;
        if (this.pos >= this.skipUntil) this.toTag();
        continue;
      }
      const byte = chunk[i++]!;
      this.pos += 1;
      this.value += (byte & 0x7f) * this.shift;
      this.shift *= 128;
      if (++this.varintBytes > 10) this.mode = 'stopped';
      if (byte & 0x80) continue;
      const value = this.value;
      this.value = 0;
      this.shift = 1;
      this.varintBytes = 0;
      if (this.mode === 'tag') this.onTag(value);
      else if (this.mode === 'length') this.onLength(value);
      else this.toTag(); // a varint field's value, skipped
    }
  }

  private onTag(tag: number): void {
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 0) this.mode = 'varint';
    else if (wire === 1) this.skip(8);
    else if (wire === 5) this.skip(4);
    else if (wire === 2) {
      const frame = this.frames[this.frames.length - 1]!;
      const descend = DESCEND[frame.kind];
      this.next = field === descend.field ? descend.into : 'skip';
      this.mode = 'length';
    } else this.mode = 'stopped'; // groups and invalid wire types: left to the decoder
  }

  private onLength(length: number): void {
    if (this.next === 'record' && ++this.count > this.limit) throw new RecordLimitError(this.limit);
    if (this.next === 'record' || this.next === 'skip') this.skip(length);
    else {
      this.frames.push({ kind: this.next, end: this.pos + length });
      this.toTag();
    }
  }

  private skip(bytes: number): void {
    this.skipUntil = this.pos + bytes;
    if (bytes === 0) this.toTag();
    else this.mode = 'skip';
  }

  /** Back to reading a tag, in the innermost message that has not ended yet. */
  private toTag(): void {
    this.mode = 'tag';
    while (this.frames.length > 1 && this.pos >= this.frames[this.frames.length - 1]!.end) this.frames.pop();
  }
}
