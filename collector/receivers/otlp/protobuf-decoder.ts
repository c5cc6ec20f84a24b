/**
 * Decodes an ExportLogsServiceRequest from protobuf straight into the plain shape of
 * schemas/otlp.ts, on protobufjs's Reader.
 *
 * Why not protobufjs's generated decoder: on the ingest path it was the largest single cost
 * (Long objects for every timestamp, message instances per value, UTF-8 validated in JS),
 * and the garbage it left behind was a fifth of the main thread. This decoder reads the
 * same wire format (field numbers from schemas/proto), validates UTF-8 natively, writes
 * timestamps as exact decimal strings and ids as hex. tests/otlp-codec.test.ts checks it
 * against the generated decoder.
 */
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import type { AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord, ResourceLogs, ScopeLogs } from '../../../schemas/otlp.js';
import { RecordLimitError } from '../record-limit.js';

export class ProtobufDecodeError extends Error {}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** Deepest nesting of AnyValue arrays/kvlists the decoder follows. */
const MAX_DEPTH = 64;

/** protobufjs's Reader plus the records left before the request passes its limit. */
type Reader = Omit<protobuf.Reader, 'buf'> & { buf: Buffer; recordsLeft: number; recordLimit: number };

function fail(message: string): never {
  throw new ProtobufDecodeError(message);
}

/*
 * Strictness as protobufjs's generated decoder: while a nested message is read, the
 * reader's `len` is that message's end, so no length, string or skipped field can run past
 * its parent; field number 0 and invalid wire types are errors; a known field with another
 * wire type than its own is skipped as an unknown field (not an error).
 */

/** Reads a tag; protobufjs's tag() refuses a tag varint longer than 32 bits. */
function readTag(r: Reader): number {
  return (r as unknown as protobuf.Reader).tag();
}

/** Skips a field this decoder does not read (unknown, or known with another wire type). */
function skipField(r: Reader, tag: number): void {
  if (tag >>> 3 === 0) fail('illegal tag: field number 0');
  (r as unknown as { skipType(wire: number, depth: number, field: number): void }).skipType(tag & 7, 0, tag >>> 3);
}

/** End offset of a length-delimited field starting at the reader's position, within the enclosing message. */
function endOf(r: Reader): number {
  // size(): a length within the signed 32-bit range, as protobufjs reads it.
  const end = (r as unknown as protobuf.Reader & { size(): number }).size() + r.pos;
  if (end > r.len) fail('length-delimited field runs past the end of its message');
  return end;
}

/** Reads the message from here to `end` with the reader bounded by it. */
function within<T>(r: Reader, end: number, read: () => T): T {
  const outer = r.len;
  r.len = end;
  const value = read();
  if (r.pos !== end) fail('a field runs past the end of its message');
  r.len = outer;
  return value;
}

function readString(r: Reader): string {
  const end = endOf(r);
  const start = r.pos;
  r.pos = end;
  if (end === start) return '';
  const text = r.buf.toString('utf8', start, end);
  // Invalid UTF-8 decodes to U+FFFD; only then is the exact (slower) check needed.
  if (text.includes('\uFFFD') && !isUtf8(r.buf.subarray(start, end))) fail('a string field is not valid UTF-8');
  return text;
}

function readBytes(r: Reader): Buffer {
  const end = endOf(r);
  const bytes = r.buf.subarray(r.pos, end);
  r.pos = end;
  return bytes;
}

function readFixed64String(r: Reader): string {
  if (r.pos + 8 > r.len) fail('fixed64 runs past the end of the message');
  const value = r.buf.readBigUInt64LE(r.pos);
  r.pos += 8;
  return value.toString();
}

function readAnyValue(r: Reader, end: number, depth: number): AnyValue {
  if (depth > MAX_DEPTH) fail(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
  return within(r, end, () => {
    let value: AnyValue = {};
    while (r.pos < end) {
      const tag = readTag(r);
      const wire = tag & 7;
      const field = tag >>> 3;
      if (field === 1 && wire === LEN) value = { stringValue: readString(r) };
      else if (field === 2 && wire === VARINT) value = { boolValue: r.bool() };
      else if (field === 3 && wire === VARINT) value = { intValue: r.int64() as unknown as { low: number; high: number } };
      else if (field === 4 && wire === FIXED64) value = { doubleValue: r.double() };
      else if (field === 5 && wire === LEN) {
        const arrayEnd = endOf(r);
        const values: AnyValue[] = [];
        within(r, arrayEnd, () => {
          while (r.pos < arrayEnd) {
            const inner = readTag(r);
            if (inner >>> 3 === 1 && (inner & 7) === LEN) values.push(readAnyValue(r, endOf(r), depth + 1));
            else skipField(r, inner);
          }
        });
        value = { arrayValue: { values } };
      } else if (field === 6 && wire === LEN) {
        const listEnd = endOf(r);
        const values: KeyValue[] = [];
        within(r, listEnd, () => {
          while (r.pos < listEnd) {
            const inner = readTag(r);
            if (inner >>> 3 === 1 && (inner & 7) === LEN) values.push(readKeyValue(r, endOf(r), depth + 1));
            else skipField(r, inner);
          }
        });
        value = { kvlistValue: { values } };
      } else if (field === 7 && wire === LEN) value = { bytesValue: readBytes(r) };
      else skipField(r, tag);
    }
    return value;
  });
}

function readKeyValue(r: Reader, end: number, depth: number): KeyValue {
  return within(r, end, () => {
    let key = '';
    let value: AnyValue | null = null;
    while (r.pos < end) {
      const tag = readTag(r);
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === LEN) key = readString(r);
      else if (field === 2 && (tag & 7) === LEN) value = readAnyValue(r, endOf(r), depth);
      else skipField(r, tag);
    }
    return { key, value };
  });
}

function readAttributesInto(r: Reader, list: KeyValue[]): void {
  list.push(readKeyValue(r, endOf(r), 0));
}

function readLogRecord(r: Reader, end: number): LogRecord {
  const rec: LogRecord = {
    timeUnixNano: null,
    observedTimeUnixNano: null,
    severityNumber: 0,
    severityText: '',
    body: null,
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: null,
    spanId: null,
    eventName: '',
  };
  const attributes = rec.attributes!;
  return within(r, end, () => {
    while (r.pos < end) {
      const tag = readTag(r);
      const wire = tag & 7;
      const field = tag >>> 3;
      if (field === 1 && wire === FIXED64) rec.timeUnixNano = readFixed64String(r);
      else if (field === 11 && wire === FIXED64) rec.observedTimeUnixNano = readFixed64String(r);
      else if (field === 2 && wire === VARINT) rec.severityNumber = r.int32();
      else if (field === 3 && wire === LEN) rec.severityText = readString(r);
      else if (field === 5 && wire === LEN) rec.body = readAnyValue(r, endOf(r), 0);
      else if (field === 6 && wire === LEN) readAttributesInto(r, attributes);
      else if (field === 7 && wire === VARINT) rec.droppedAttributesCount = r.uint32();
      else if (field === 8 && wire === FIXED32) rec.flags = r.fixed32();
      else if (field === 9 && wire === LEN) rec.traceId = readBytes(r);
      else if (field === 10 && wire === LEN) rec.spanId = readBytes(r);
      else if (field === 12 && wire === LEN) rec.eventName = readString(r);
      else skipField(r, tag);
    }
    return rec;
  });
}

function readScopeLogs(r: Reader, end: number): ScopeLogs {
  const logRecords: LogRecord[] = [];
  let name = '';
  let version = '';
  let schemaUrl = '';
  const outer = r.len;
  r.len = end;
  while (r.pos < end) {
    const tag = readTag(r);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 2 && wire === LEN) {
      // Counted before decoding, so an oversized request stops here (an empty LogRecord is 2 bytes).
      if (--r.recordsLeft < 0) throw new RecordLimitError(r.recordLimit);
      const recordEnd = endOf(r);
      const start = r.pos;
      const record = readLogRecord(r, recordEnd);
      record.wire = r.buf.subarray(start, recordEnd); // export may send it on as it came
      logRecords.push(record);
    } else if (field === 1 && wire === LEN) {
      const scopeEnd = endOf(r);
      within(r, scopeEnd, () => {
        while (r.pos < scopeEnd) {
          const inner = readTag(r);
          const field = inner >>> 3;
          const wire = inner & 7;
          if (field === 1 && wire === LEN) name = readString(r);
          else if (field === 2 && wire === LEN) version = readString(r);
          // Read and dropped, but checked as protobufjs checks them.
          else if (field === 3 && wire === LEN) readKeyValue(r, endOf(r), 0);
          else skipField(r, inner);
        }
      });
    } else if (field === 3 && wire === LEN) schemaUrl = readString(r);
    else skipField(r, tag);
  }
  if (r.pos !== end) fail('a field runs past the end of its message');
  r.len = outer;
  return { scope: { name, version }, logRecords, schemaUrl };
}

function readResourceLogs(r: Reader, end: number): ResourceLogs {
  const attributes: KeyValue[] = [];
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = '';
  const outer = r.len;
  r.len = end;
  while (r.pos < end) {
    const tag = readTag(r);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 2 && wire === LEN) scopeLogs.push(readScopeLogs(r, endOf(r)));
    else if (field === 1 && wire === LEN) {
      const resourceEnd = endOf(r);
      within(r, resourceEnd, () => {
        while (r.pos < resourceEnd) {
          const inner = readTag(r);
          if (inner >>> 3 === 1 && (inner & 7) === LEN) readAttributesInto(r, attributes);
          else skipField(r, inner);
        }
      });
    } else if (field === 3 && wire === LEN) schemaUrl = readString(r);
    else skipField(r, tag);
  }
  if (r.pos !== end) fail('a field runs past the end of its message');
  r.len = outer;
  return { resource: { attributes }, scopeLogs, schemaUrl };
}

/** Throws RecordLimitError as soon as the request holds more than `maxRecords` LogRecords. */
export function decodeExportLogsRequest(body: Uint8Array, maxRecords = Number.MAX_SAFE_INTEGER): ExportLogsServiceRequest {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = protobuf.Reader.create(buffer) as unknown as Reader;
  r.recordsLeft = maxRecords;
  r.recordLimit = maxRecords;
  const resourceLogs: ResourceLogs[] = [];
  try {
    while (r.pos < r.len) {
      const tag = readTag(r);
      if (tag >>> 3 === 1 && (tag & 7) === LEN) resourceLogs.push(readResourceLogs(r, endOf(r)));
      else skipField(r, tag);
    }
  } catch (error) {
    if (error instanceof ProtobufDecodeError || error instanceof RecordLimitError) throw error;
    // protobufjs reports truncation and bad wire types as RangeError/Error.
    throw new ProtobufDecodeError((error as Error).message);
  }
  return { resourceLogs };
}
