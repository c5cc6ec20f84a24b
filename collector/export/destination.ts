/**
 * A downstream OTLP/HTTP receiver (a SIEM) that gets a copy of every stored event:
 * its config, with the validation that applies wherever destinations come from.
 */
import { z } from 'zod';
import { duration } from '../config/zod-units.js';

export interface Destination {
  id: string;
  name: string;
  endpoint: string;
  /** Header values are secrets: never logged, returned masked. */
  headers: Readonly<Record<string, string>>;
  maxBatchSize: number;
  encoding: 'protobuf' | 'json';
  compression: 'gzip' | 'none';
  /** Only this tenant's events, when set. */
  tenant: string | undefined;
  /** Only these event types, when set. */
  eventTypes: readonly string[] | undefined;
  enabled: boolean;
  /** Where a destination without a saved position starts: new events only, or all retained. */
  startFrom: 'end' | 'earliest';
  timeoutMs: number;
  retry: { initialIntervalMs: number; maxIntervalMs: number };
  /** Also send every integrity checkpoint here (event_name audit.checkpoint): a copy the sidecar cannot change. */
  checkpoints: boolean;
}

/** Header names are HTTP tokens (RFC 9110 §5.1); these are set by the exporter itself. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Header values: visible ASCII, with spaces and tabs only inside (RFC 9110 §5.5, without
 * obs-text). Anything else (CR, LF, NUL, U+0085, U+2028) could never be sent, and the
 * destination would fail forever.
 */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20\x21-\x7e\t]*[\x21-\x7e])?)?$/;
/** Control characters and line separators: refused in names and endpoints, where they would reach log lines. */
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'content-encoding', 'content-type', 'connection']);

export const destinationSchema = z.strictObject({
  endpoint: z
    .string()
    // The URL parser drops tabs and newlines silently; refuse them (and anything not visible ASCII: use punycode) first.
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII without spaces or control characters (write international names in punycode)')
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without credentials in it'),
  headers: z
    .record(
      z.string().regex(HEADER_NAME, 'header names must be HTTP tokens').refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'this header is set by the exporter and cannot be configured'),
      z.string().regex(HEADER_VALUE, 'header values must be visible ASCII, with spaces or tabs only between visible characters'),
    )
    .default({}),
  max_batch_size: z
    .union([z.number(), z.string().regex(/^\d+$/)])
    .default(500)
    .transform((value, ctx) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 1000) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from 1 to 1000, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return n;
    }),
  encoding: z.enum(['protobuf', 'json']).default('protobuf'),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  tenant: z.string().min(1).optional(),
  event_types: z.array(z.string().min(1)).min(1).optional(),
  enabled: z.boolean().default(true),
  start_from: z.enum(['end', 'earliest']).default('end'),
  /** Also send every signed integrity checkpoint here as an `audit.checkpoint` log record. */
  checkpoints: z.boolean().default(false),
  /** Time for one request: connect, send, and the receiver's answer. */
  timeout: duration(10_000),
  retry: z
    .strictObject({ initial_interval: duration(1_000), max_interval: duration(60_000) })
    .default({ initial_interval: 1_000, max_interval: 60_000 }),
});

/** What the admin API accepts: a destination plus its name and where it starts. */
export const apiDestinationSchema = destinationSchema.extend({
  name: z.string().trim().min(1, 'a name is required').max(100).refine((name) => !CONTROL.test(name), 'may not contain control characters or line separators'),
  start_from: z
    .string()
    .default('end')
    .refine((v) => v === 'end' || v === 'earliest' || (/^\d{4}-\d{2}-\d{2}T/.test(v) && Number.isFinite(Date.parse(v))), 'must be "end", "earliest" or an RFC 3339 time'),
});

export function toDestination(id: string, raw: z.output<typeof destinationSchema>, name = id): Destination {
  return {
    id,
    name,
    endpoint: raw.endpoint,
    headers: raw.headers,
    maxBatchSize: raw.max_batch_size,
    encoding: raw.encoding,
    compression: raw.compression,
    tenant: raw.tenant,
    eventTypes: raw.event_types,
    enabled: raw.enabled,
    startFrom: raw.start_from,
    timeoutMs: raw.timeout,
    retry: { initialIntervalMs: raw.retry.initial_interval, maxIntervalMs: raw.retry.max_interval },
    checkpoints: raw.checkpoints,
  };
}

/** Headers as the API and logs show them: names kept, values masked. */
export function maskedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, '***']));
}
