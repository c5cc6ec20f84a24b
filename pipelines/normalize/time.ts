/**
 * Timestamps from JSON sources -> exact nanoseconds since the epoch, as decimal strings.
 * Accepted: RFC 3339 (up to nanosecond fractions, any offset) and epoch milliseconds
 * (a number or a string of digits, fractions allowed).
 */
import { InvalidValueError } from '../otlp/values.js';

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:?\d{2})$/;

export function timestampToNanos(value: unknown, field: string): string {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value))) {
    const ms = Number(value);
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidValueError(`${field} must be an RFC 3339 time or epoch milliseconds`);
    const whole = Math.floor(ms);
    const micros = Math.round((ms - whole) * 1e6);
    return `${whole}${String(micros).padStart(6, '0')}`.replace(/^0+(?=\d)/, '');
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
