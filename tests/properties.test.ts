/**
 * Property tests (fast-check, seeded): epoch-millisecond timestamps to nanoseconds, int64
 * values to exact decimal strings, and the Native encoding's round trip through our reader.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timestampToNanos } from '../pipelines/normalize/time.js';
import { int64ToString } from '../pipelines/otlp/values.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import { indexNativeBlocks, readNativeColumn } from '../collector/store/native-reader.js';
import type { AuditEvent } from '../schemas/audit-event.js';

const options = { numRuns: 1000, seed: 12 };

describe('timestampToNanos (epoch milliseconds)', () => {
  it('is exact: whole ms times 10^6 plus the fraction rounded half up to the nanosecond', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 16n }), fc.stringMatching(/^[0-9]{0,12}$/), (ms, fraction) => {
        const text = fraction === '' ? ms.toString() : `${ms}.${fraction}`;
        const digits = fraction.padEnd(7, '0');
        const expected = ms * 1_000_000n + BigInt(digits.slice(0, 6)) + (Number(digits[6]) >= 5 ? 1n : 0n);
        expect(timestampToNanos(text, 't')).toBe(expected.toString());
      }),
      options,
    );
  });

  it('carries a fraction that rounds up to a whole millisecond', () => {
    expect(timestampToNanos('1.9999999999', 't')).toBe('2000000');
    expect(timestampToNanos('1.9999995', 't')).toBe('2000000');
    expect(timestampToNanos('1.9999994', 't')).toBe('1999999');
    expect(timestampToNanos(1.5, 't')).toBe('1500000');
    expect(timestampToNanos(1_700_000_000_000, 't')).toBe('1700000000000000000');
  });

  it('is monotonic in its input', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e12, noNaN: true }), fc.double({ min: 0, max: 4e12, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(BigInt(timestampToNanos(lo, 't')) <= BigInt(timestampToNanos(hi, 't'))).toBe(true);
      }),
      options,
    );
  });
});

describe('int64ToString', () => {
  it('gives the exact decimal of any int64, from a string, a safe number or Long bits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.nat({ max: 3 }), (value, zeros) => {
        const text = value.toString();
        const padded = text.startsWith('-') ? `-${'0'.repeat(zeros)}${text.slice(1)}` : `${'0'.repeat(zeros)}${text}`;
        if (padded.replace('-', '').length <= 20) expect(int64ToString(padded)).toBe(text);
        const bits = BigInt.asUintN(64, value);
        expect(int64ToString({ low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 })).toBe(text);
        expect(int64ToString({ low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 }, true)).toBe(bits.toString());
        if (Number.isSafeInteger(Number(value))) expect(int64ToString(Number(value))).toBe(text);
      }),
      options,
    );
  });
});

describe('Native encoding', () => {
  const text = fc.string({ unit: 'binary', maxLength: 300 });
  const event = fc.record({
    event_id: text,
    message: text,
    raw: fc.string({ maxLength: 2000 }),
    severity_number: fc.integer({ min: 0, max: 255 }),
    attributes: fc.dictionary(fc.string({ maxLength: 20 }), text, { maxKeys: 5 }),
  });

  it('reads back every string, number and map it wrote', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (partials) => {
        const events = partials.map((p) => ({ ...base(), ...p }));
        const { buffer } = encodeRows(events, 1, 'prop');
        const [block] = indexNativeBlocks(buffer);
        expect(block!.rows).toBe(events.length);
        for (const column of ['event_id', 'message', 'raw', 'severity_number', 'attributes'] as const) {
          const values = readNativeColumn(buffer, block!.columns.get(column)!, events.length);
          expect(values, column).toEqual(events.map((e) => (column === 'attributes' ? { ...e.attributes } : e[column])));
        }
      }),
      { numRuns: 300, seed: 12 },
    );
  });
});

function base(): AuditEvent {
  return {
    event_id: 'e', tenant_id: 't', occurred_at: '1700000000000000000', received_at: '1700000000000000001',
    event_type: 'user.login', action: 'login', outcome: 'success', actor_id: 'u', actor_name: '', actor_email: '',
    actor_type: 'user', client_ip: '', user_agent: '', team_id: '', project_id: '', resource_type: '', resource_id: '',
    resource_name: '', request_method: '', request_url: '', message: '', changes: '{}', metadata: '{}', attributes: {},
    resource_attributes: {}, service_name: '', severity_text: '', severity_number: 0, trace_id: '', span_id: '',
    source: 'otlp', raw: '{}', retention_days: 90,
  };
}
