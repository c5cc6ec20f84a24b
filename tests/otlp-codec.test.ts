/** OTLP wire formats: the lean protobuf decoder against protobufjs's generated one, and OTLP/JSON. */
import { describe, expect, it } from 'vitest';
import { decodeJson, decodeProtobuf, DecodeError, encodeResponse, encodeStatus, ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { normalizeExportRequest } from '../pipelines/otlp/request.js';
import type { IngestContext } from '../pipelines/otlp/log-record.js';
import { encodeProtobuf } from './support/otlp.js';

const ctx: IngestContext = { tenantOverride: undefined, receivedAtNanos: '1795000000000000000', retention: { defaultDays: 90, tenants: {} } };

const richRequest = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 1 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
      scopeLogs: [
        {
          scope: { name: 'audit', version: '1', attributes: [{ key: 's', value: { boolValue: true } }] },
          logRecords: [
            {
              timeUnixNano: '1794999999123456789',
              observedTimeUnixNano: '1794999999223456789',
              severityNumber: 9,
              severityText: 'INFO',
              eventName: 'user.login',
              body: { kvlistValue: { values: [{ key: 'nested', value: { arrayValue: { values: [{ intValue: '-42' }, { doubleValue: 1.5 }, { bytesValue: Buffer.from([0, 255]) }] } } }] } },
              attributes: [
                { key: 'user.id', value: { stringValue: 'ünïcödé ✓' } },
                { key: 'int', value: { intValue: '9007199254740991' } },
                { key: 'flag', value: { boolValue: false } },
                { key: 'empty', value: {} },
              ],
              droppedAttributesCount: 2,
              flags: 1,
              traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
              spanId: Buffer.from('a1a2a3a4a5a6a7a8', 'hex'),
            },
            { eventName: 'minimal', attributes: [] },
          ],
        },
      ],
    },
  ],
};

describe('protobuf decoding', () => {
  it('yields the same audit events as protobufjs\'s generated decoder', () => {
    const bytes = encodeProtobuf(richRequest);
    const lean = normalizeExportRequest(decodeProtobuf(bytes), ctx);
    const generated = normalizeExportRequest(ExportLogsServiceRequestType.decode(bytes) as never, ctx);
    expect(lean.rejected).toEqual([]);
    expect(lean.events).toHaveLength(2);
    expect(lean).toEqual(generated);
    const first = lean.events[0]!;
    expect(first.occurred_at).toBe('1794999999123456789');
    expect(first.actor_id).toBe('ünïcödé ✓');
    expect(first.attributes).toMatchObject({ int: '9007199254740991', flag: 'false', empty: '' });
    expect(JSON.parse(first.metadata)).toEqual({ nested: [-42, 1.5, 'AP8='] });
  });

  it('keeps 64-bit integers exact', () => {
    // (The generated decoder is no oracle here: without long.js loaded it decodes int64 as lossy numbers.)
    const bytes = encodeProtobuf({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'x', timeUnixNano: '18446744073709551615', attributes: [
        { key: 'max', value: { intValue: '9223372036854775807' } },
        { key: 'min', value: { intValue: '-9223372036854775808' } },
      ] }] }] }],
    });
    const record = decodeProtobuf(bytes).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(record.timeUnixNano).toBe('18446744073709551615');
    const { events, rejected } = normalizeExportRequest(decodeProtobuf(bytes), ctx);
    expect(rejected[0]!.error).toContain('after 2106');
    const withTime = encodeProtobuf({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'x', timeUnixNano: '1794999999999999999', attributes: [
        { key: 'max', value: { intValue: '9223372036854775807' } },
        { key: 'min', value: { intValue: '-9223372036854775808' } },
      ] }] }] }],
    });
    expect(events).toEqual([]);
    expect(normalizeExportRequest(decodeProtobuf(withTime), ctx).events[0]!.attributes).toEqual({ max: '9223372036854775807', min: '-9223372036854775808' });
  });

  it('skips unknown fields', () => {
    const known = encodeProtobuf(richRequest);
    // field 99, wire type 2 (length-delimited), 3 bytes; then field 98 varint
    const unknown = Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63, 0x90, 0x06, 0x2a]);
    const decoded = decodeProtobuf(Buffer.concat([unknown, known]));
    expect(normalizeExportRequest(decoded, ctx).events).toHaveLength(2);
  });

  it.each([
    ['random bytes', Buffer.from('this is not protobuf at all, just text \u00ff\u00fe', 'latin1')],
    ['a truncated message', Buffer.from(encodeProtobuf(richRequest)).subarray(0, 60)],
    ['a length past the end', Buffer.from([0x0a, 0xff, 0x01, 0x00])],
    ['an invalid wire type', Buffer.from([0x0f])],
  ])('rejects %s with a DecodeError', (_name, bytes) => {
    expect(() => decodeProtobuf(bytes)).toThrow(DecodeError);
  });

  it('rejects invalid UTF-8 in a string field', () => {
    const bytes = Buffer.from(encodeProtobuf({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'XXXX' }] }] }] }));
    bytes.set([0xc3, 0x28, 0xff, 0xfe], bytes.indexOf('XXXX'));
    expect(() => decodeProtobuf(bytes)).toThrow(/not valid UTF-8/);
  });

  it('rejects values nested deeper than the limit instead of overflowing the stack', () => {
    let value: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i < 10_000; i++) value = { arrayValue: { values: [value] } };
    // Encode by hand: protobufjs's own encoder recurses too deeply for this.
    let inner = Buffer.from(ExportLogsServiceRequestType.lookupType('opentelemetry.proto.common.v1.AnyValue').encode({ stringValue: 'leaf' }).finish());
    for (let i = 0; i < 10_000; i++) inner = Buffer.concat([Buffer.from([0x2a]), varint(Buffer.from(Buffer.concat([Buffer.from([0x0a]), varint(inner), inner])).length), Buffer.concat([Buffer.from([0x0a]), varint(inner), inner])]);
    const record = Buffer.concat([Buffer.from([0x2a]), varint(inner), inner]);
    const scope = Buffer.concat([Buffer.from([0x12]), varint(record), record]);
    const rl = Buffer.concat([Buffer.from([0x12]), varint(scope), scope]);
    const request = Buffer.concat([Buffer.from([0x0a]), varint(rl), rl]);
    expect(() => decodeProtobuf(request)).toThrow(/nested deeper/);
  });
});

function varint(data: Buffer | number): Buffer {
  let n = typeof data === 'number' ? data : data.length;
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

describe('OTLP/JSON decoding', () => {
  it('keeps int64 numbers beyond 2^53 exact and reads hex ids', () => {
    const text = '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":1794999999123456789,"eventName":"a.b",' +
      '"traceId":"0102030405060708090A0B0C0D0E0F10","attributes":[{"key":"n","value":{"intValue":9007199254740993}},' +
      '{"key":"s","value":{"stringValue":"\\"timeUnixNano\\":5"}}]}]}]}]}';
    const { events } = normalizeExportRequest(decodeJson(Buffer.from(text)), ctx);
    expect(events[0]!.occurred_at).toBe('1794999999123456789');
    expect(events[0]!.trace_id).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(events[0]!.attributes).toEqual({ n: '9007199254740993', s: '"timeUnixNano":5' });
  });

  it.each([
    ['truncated JSON', '{"resourceLogs":[{"scopeLogs":'],
    ['not an object', '[1,2,3]'],
    ['resourceLogs not a list', '{"resourceLogs":{}}'],
    // A record that is not an object is rejected by itself (tests/otlp-json-schema.test.ts).
  ])('rejects %s with a DecodeError', (_name, text) => {
    expect(() => decodeJson(Buffer.from(text))).toThrow(DecodeError);
  });
});

describe('responses', () => {
  it('encode partial success and status in both encodings', () => {
    expect(encodeResponse({}, 'json')).toBe('{}');
    expect(JSON.parse(encodeResponse({ partialSuccess: { rejectedLogRecords: 2, errorMessage: 'x' } }, 'json') as string)).toEqual({
      partialSuccess: { rejectedLogRecords: '2', errorMessage: 'x' },
    });
    expect(JSON.parse(encodeStatus(3, 'bad', 'json') as string)).toEqual({ code: 3, message: 'bad' });
    expect(Buffer.from(encodeStatus(3, 'bad', 'protobuf') as Uint8Array).toString('hex')).toBe('08031203626164');
  });
});
