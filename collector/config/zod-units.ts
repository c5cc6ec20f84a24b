/** Schema pieces for the units config files use, shared by every config section. */
import { z } from 'zod';
import { parseDurationMs, parseSizeBytes } from './units.js';

/** A duration such as "200ms" or "30s", resolved to milliseconds. */
export const duration = (fallbackMs: number) =>
  z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return fallbackMs;
      const ms = parseDurationMs(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as "200ms" or "30s", got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });

/** A size such as "64MiB" or a byte count. */
export const size = (fallbackBytes: number) =>
  z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return fallbackBytes;
      const bytes = parseSizeBytes(value);
      if (bytes === undefined || bytes <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a size such as "64MiB" or a byte count, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return bytes;
    });

/** A positive integer; numeric strings are accepted because env substitution yields strings. */
export const count = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, 'expected a whole number')])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return n;
    });

