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

function expectWireType(actual: number, expected: number, field: string): void {
  if (actual !== expected) fail(`${field}: wire type ${actual}, expected ${expected}`);
}

/** End offset of a length-delimited field starting at the reader's position. */
function endOf(r: Reader): number {
  const end = r.uint32() + r.pos;
  if (end > r.len) fail('length-delimited field runs past the end of the message');
  return end;
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
  let value: AnyValue = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWireType(wire, LEN, 'AnyValue.string_value');
        value = { stringValue: readString(r) };
        break;
      case 2:
        expectWireType(wire, VARINT, 'AnyValue.bool_value');
        value = { boolValue: r.bool() };
        break;
      case 3:
        expectWireType(wire, VARINT, 'AnyValue.int_value');
        value = { intValue: r.int64() as unknown as { low: number; high: number } };
        break;
      case 4:
        expectWireType(wire, FIXED64, 'AnyValue.double_value');
        value = { doubleValue: r.double() };
        break;
      case 5: {
        expectWireType(wire, LEN, 'AnyValue.array_value');
        const arrayEnd = endOf(r);
        const values: AnyValue[] = [];
        while (r.pos < arrayEnd) {
          const inner = r.uint32();
          if (inner >>> 3 === 1 && (inner & 7) === LEN) values.push(readAnyValue(r, endOf(r), depth + 1));
          else r.skipType(inner & 7);
        }
        value = { arrayValue: { values } };
        break;
      }
      case 6: {
        expectWireType(wire, LEN, 'AnyValue.kvlist_value');
        const listEnd = endOf(r);
        const values: KeyValue[] = [];
        while (r.pos < listEnd) {
          const inner = r.uint32();
          if (inner >>> 3 === 1 && (inner & 7) === LEN) values.push(readKeyValue(r, endOf(r), depth + 1));
          else r.skipType(inner & 7);
        }
        value = { kvlistValue: { values } };
        break;
      }
      case 7:
        expectWireType(wire, LEN, 'AnyValue.bytes_value');
        value = { bytesValue: readBytes(r) };
        break;
      default:
        r.skipType(wire);
    }
  }
  r.pos = end;
  return value;
}

function readKeyValue(r: Reader, end: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === LEN) key = readString(r);
    else if (field === 2 && (tag & 7) === LEN) value = readAnyValue(r, endOf(r), depth);
    else r.skipType(tag & 7);
  }
  r.pos = end;
  return { key, value };
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
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWireType(wire, FIXED64, 'LogRecord.time_unix_nano');
        rec.timeUnixNano = readFixed64String(r);
        break;
      case 11:
        expectWireType(wire, FIXED64, 'LogRecord.observed_time_unix_nano');
        rec.observedTimeUnixNano = readFixed64String(r);
        break;
      case 2:
        expectWireType(wire, VARINT, 'LogRecord.severity_number');
        rec.severityNumber = r.int32();
        break;
      case 3:
        expectWireType(wire, LEN, 'LogRecord.severity_text');
        rec.severityText = readString(r);
        break;
      case 5:
        expectWireType(wire, LEN, 'LogRecord.body');
        rec.body = readAnyValue(r, endOf(r), 0);
        break;
      case 6:
        expectWireType(wire, LEN, 'LogRecord.attributes');
        readAttributesInto(r, attributes);
        break;
      case 7:
        expectWireType(wire, VARINT, 'LogRecord.dropped_attributes_count');
        rec.droppedAttributesCount = r.uint32();
        break;
      case 8:
        expectWireType(wire, FIXED32, 'LogRecord.flags');
        rec.flags = r.fixed32();
        break;
      case 9:
        expectWireType(wire, LEN, 'LogRecord.trace_id');
        rec.traceId = readBytes(r);
        break;
      case 10:
        expectWireType(wire, LEN, 'LogRecord.span_id');
        rec.spanId = readBytes(r);
        break;
      case 12:
        expectWireType(wire, LEN, 'LogRecord.event_name');
        rec.eventName = readString(r);
        break;
      default:
        r.skipType(wire);
    }
  }
  r.pos = end;
  return rec;
}

function readScopeLogs(r: Reader, end: number): ScopeLogs {
  const logRecords: LogRecord[] = [];
  let name = '';
  let schemaUrl = '';
  while (r.pos < end) {
    const tag = r.uint32();
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
      while (r.pos < scopeEnd) {
        const inner = r.uint32();
        if (inner >>> 3 === 1 && (inner & 7) === LEN) name = readString(r);
        else r.skipType(inner & 7);
      }
    } else if (field === 3 && wire === LEN) schemaUrl = readString(r);
    else r.skipType(wire);
  }
  r.pos = end;
  return { scope: { name }, logRecords, schemaUrl };
}

function readResourceLogs(r: Reader, end: number): ResourceLogs {
  const attributes: KeyValue[] = [];
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = '';
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 2 && wire === LEN) scopeLogs.push(readScopeLogs(r, endOf(r)));
    else if (field === 1 && wire === LEN) {
      const resourceEnd = endOf(r);
      while (r.pos < resourceEnd) {
        const inner = r.uint32();
        if (inner >>> 3 === 1 && (inner & 7) === LEN) readAttributesInto(r, attributes);
        else r.skipType(inner & 7);
      }
    } else if (field === 3 && wire === LEN) schemaUrl = readString(r);
    else r.skipType(wire);
  }
  r.pos = end;
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
      const tag = r.uint32();
      if (tag >>> 3 === 1 && (tag & 7) === LEN) resourceLogs.push(readResourceLogs(r, endOf(r)));
      else r.skipType(tag & 7);
    }
  } catch (error) {
    if (error instanceof ProtobufDecodeError || error instanceof RecordLimitError) throw error;
    // protobufjs reports truncation and bad wire types as RangeError/Error.
    throw new ProtobufDecodeError((error as Error).message);
  }
  return { resourceLogs };
}
