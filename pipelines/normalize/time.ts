/**
 * Timestamps from JSON sources -> exact nanoseconds since the epoch, as decimal strings.
 * Accepted: RFC 3339 (up to nanosecond fractions, any offset) and epoch milliseconds
 * (a number or a string of digits, fractions allowed).
 */
import { InvalidValueError } from '../otlp/values.js';

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** Decimal epoch milliseconds -> nanoseconds, rounded half up to the nanosecond. */
function epochMillisToNanos(text: string): string {
  const [whole, fraction = ''] = text.split('.');
  const digits = fraction.padEnd(7, '0');
  let nanos = BigInt(whole!) * 1_000_000n + BigInt(digits.slice(0, 6));
  if (digits.charCodeAt(6) >= 0x35 /* '5' */) nanos += 1n;
  return nanos.toString();
}

export function timestampToNanos(value: unknown, field: string): string {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value))) {
    // Exact decimal arithmetic: in floating point, '1.9999999999' rounded its fraction up to
    // a whole millisecond without carrying it ('11000000' instead of '2000000').
    const text = typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e21 ? value.toFixed(7) : String(value);
    if (!/^\d+(\.\d+)?$/.test(text)) throw new InvalidValueError(`${field} must be an RFC 3339 time or epoch milliseconds`);
    return epochMillisToNanos(text);
  }
  if (typeof value === 'string') {
    const match = RFC3339.exec(value);
    if (match) {
      const [, date, time, fraction = '', zone] = match;
      const seconds = Date.parse(`${date}T${time}${zone!.toUpperCase() === 'Z' ? 'Z' : zone!.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`);
      if (Number.isFinite(seconds) && seconds >= 0) {
        return `${seconds / 1000}${fraction.padEnd(9, '0')}`.replace(/^0+(?=\d)/, '');
      }
    }
  }
  throw new InvalidValueError(`${field} must be an RFC 3339 time or epoch milliseconds`);
}
