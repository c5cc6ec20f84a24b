/**
 * The record counters that run on a body's bytes as they arrive: they count what
 * JSON.parse / the protobuf decoder would find, across any chunking, and stop past the limit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonItemCounter, NdjsonLineCounter, type RecordCounter } from '../pipelines/json/count-items.js';
import { ProtobufRecordCounter } from '../collector/receivers/otlp/protobuf-record-counter.js';
import { RecordLimitError } from '../collector/receivers/record-limit.js';
import { ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

/** Feeds `body` in chunks cut at `cuts` (fractions of its length). */
function feedChunked(counter: RecordCounter, body: Uint8Array, cuts: number[]): void {
  const points = [...new Set(cuts.map((c) => Math.floor(c * body.length)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, body.length]) {
    counter.feed(body.subarray(start, point));
    start = point;
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

describe('JSON', () => {
  it('counts the top-level array items JSON.parse finds, however the body is chunked', () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { maxLength: 20 }), cuts, fc.boolean(), (items, at, pretty) => {
        const body = Buffer.from(JSON.stringify(items, null, pretty ? 2 : undefined));
        const counter = new JsonItemCounter(1000, { topLevel: true });
        feedChunked(counter, body, at);
        expect(counter.count).toBe(items.length);
      }),
      { numRuns: 300, seed: 12 },
    );
  });

  it('counts the logRecords of OTLP/JSON, escaped keys included, and not strings that look like them', () => {
    const request = otlpRequest([{ body: '"logRecords":[1,2,3]' }, { body: '[[[' }, {}]);
    const text = JSON.stringify({ ...request, resourceLogs: [...request.resourceLogs, ...request.resourceLogs] });
    const counter = new JsonItemCounter(1000, { keys: ['logRecords'] });
    counter.feed(Buffer.from(text.replaceAll('"logRecords"', '"log\\u0052ecords"')));
    expect(counter.count).toBe(6);
  });

  it('throws at the first item past the limit, having read only that far', () => {
    const counter = new JsonItemCounter(3, { topLevel: true });
    expect(() => counter.feed(Buffer.from(`[{},{},{},{}${',{}'.repeat(1000)}]`))).toThrow(RecordLimitError);
    expect(counter.count).toBe(4);
  });

  it('counts non-blank NDJSON lines', () => {
    const counter = new NdjsonLineCounter(10);
    counter.feed(Buffer.from('{"a":"x\\ny"}\n\n  \n{}\r\n'));
    counter.feed(Buffer.from('{}'));
    counter.end();
    expect(counter.count).toBe(3);
    expect(() => new NdjsonLineCounter(2).feed(Buffer.from('1\n2\n3\n'))).toThrow(RecordLimitError);
  });
});

describe('protobuf', () => {
  it('counts the LogRecords the decoder finds, however the body is chunked', () => {
    const record = fc.record({ eventName: fc.string({ maxLength: 5 }), body: fc.string({ maxLength: 300 }) });
    fc.assert(
      fc.property(fc.array(fc.array(record, { maxLength: 5 }), { maxLength: 4 }), cuts, (groups, at) => {
        const request = { resourceLogs: groups.map((records) => otlpRequest(records).resourceLogs[0]!) };
        const body = encodeProtobuf(request);
        const counter = new ProtobufRecordCounter(1000);
        feedChunked(counter, body, at);
        expect(counter.count).toBe(groups.flat().length);
        expect(ExportLogsServiceRequestType.decode(body)).toBeTruthy();
      }),
      { numRuns: 300, seed: 12 },
    );
  });

  it('throws past the limit', () => {
    const body = encodeProtobuf(otlpRequest(Array.from({ length: 11 }, () => ({}))));
    expect(() => new ProtobufRecordCounter(10).feed(body)).toThrow(RecordLimitError);
  });
});
