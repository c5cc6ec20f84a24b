/**
 * OTLP/JSON is validated by a schema where it comes in: a wrong envelope is a 400 naming
 * the path; a record of the wrong shape is rejected by itself, naming the path, and the
 * others are stored; nothing reaches normalization with a field of an unexpected type.
 */
import { describe, expect, it } from 'vitest';
import { decodeJson, DecodeError } from '../collector/receivers/otlp/codec.js';
import { normalizeExportRequest } from '../pipelines/otlp/request.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const ctx = { tenantOverride: undefined, receivedAtNanos: `${Date.now()}000000`, retention: { defaultDays: 90, tenants: {} } };
const good = { eventName: 'user.login', attributes: [{ key: 'user.id', value: { stringValue: 'u-1' } }] };
const request = (...records: unknown[]) => ({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: 's' }, logRecords: records }] }] });

describe('OTLP/JSON validation', () => {
  it.each([
    [{ resourceLogs: {} }, 'resourceLogs: expected array'],
    [{ resourceLogs: [{ scopeLogs: 'x' }] }, 'resourceLogs[0].scopeLogs: expected array'],
    [{ resourceLogs: [{ resource: { attributes: [{ key: 'k', value: { intValue: 'abc' } }] } }] }, 'resourceLogs[0].resource.attributes[0].value.intValue'],
    [{ resourceLogs: [{ scopeLogs: [{ scope: { name: 5 } }] }] }, 'resourceLogs[0].scopeLogs[0].scope.name: expected string'],
  ])('refuses a request whose envelope is malformed (%#)', (value, message) => {
    expect(() => decodeJson(body(value))).toThrow(DecodeError);
    expect(() => decodeJson(body(value))).toThrow(message);
  });

  it.each([
    [{ ...good, attributes: 'nope' }, 'attributes: expected array'],
    [{ ...good, attributes: [{ key: 'n', value: { intValue: 'x1' } }] }, 'attributes[0].value.intValue: expected an integer'],
    [{ ...good, body: { kvlistValue: { values: 5 } } }, 'body.kvlistValue.values: expected array'],
    [{ ...good, body: { arrayValue: { values: [{ boolValue: 'yes' }] } } }, 'body.arrayValue.values[0].boolValue: expected boolean'],
    [{ ...good, timeUnixNano: true }, 'timeUnixNano'],
    [{ ...good, traceId: 7 }, 'traceId: expected string'],
    ['a string', 'expected object'],
  ])('rejects one record of the wrong shape by itself, naming the path (%#)', (bad, message) => {
    const { events, rejected } = normalizeExportRequest(decodeJson(body(request(good, bad, good))), ctx);
    expect(events).toHaveLength(2);
    expect(rejected).toEqual([{ index: 1, reason: 'malformed', error: expect.stringContaining(`malformed log record: ${message}`) }]);
  });

  it('keeps int64 precision and accepts every value kind', () => {
    const text = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":${BigInt(Date.now()) * 1_000_000n + 1n},"eventName":"e","attributes":[
      {"key":"user.id","value":{"stringValue":"u"}},{"key":"i","value":{"intValue":9007199254740993}},{"key":"d","value":{"doubleValue":"NaN"}},
      {"key":"b","value":{"bytesValue":"AP8="}},{"key":"l","value":{"kvlistValue":{"values":[{"key":"x","value":{"arrayValue":{"values":[{"boolValue":true}]}}}]}}}]}]}]}]}`;
    const { events, rejected } = normalizeExportRequest(decodeJson(Buffer.from(text)), ctx);
    expect(rejected).toEqual([]);
    expect(events[0]!.occurred_at.endsWith('000001')).toBe(true);
    expect(events[0]!.attributes.i).toBe('9007199254740993');
  });
});
