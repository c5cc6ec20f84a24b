/** The first invalid byte of a UTF-8 body, checked against Node's native validator. */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeUtf8, firstInvalidByte, InvalidUtf8Error } from '../collector/receivers/utf8.js';

it('finds an invalid byte exactly when the native check fails, and everything before it is valid', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.tuple(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.uint8Array({ maxLength: 3 }), fc.string({ unit: 'grapheme', maxLength: 10 }))
      .map(([a, mid, b]) => Buffer.concat([Buffer.from(a), mid, Buffer.from(b)])),
  );
  fc.assert(
    fc.property(bytes, (input) => {
      const buffer = Buffer.from(input);
      const at = firstInvalidByte(buffer);
      expect(at === -1).toBe(isUtf8(buffer));
      if (at >= 0) {
        expect(isUtf8(buffer.subarray(0, at))).toBe(true);
        expect(() => decodeUtf8(buffer)).toThrow(InvalidUtf8Error);
      } else expect(decodeUtf8(buffer)).toBe(buffer.toString('utf8'));
    }),
    { numRuns: 5000, seed: 7 },
  );
});
