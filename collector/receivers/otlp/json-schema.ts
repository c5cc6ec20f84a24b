/**
 * OTLP/JSON validated at the boundary (zod), not cast: the request's envelope (resources,
 * scopes) must have the specified shape or the request is a 400 naming the path; each
 * LogRecord is checked on its own, and one that does not have the shape is rejected
 * (partial success) with the path and the problem, so no record reaches normalization
 * with a field of an unexpected type. Unknown fields are ignored, as the OTLP/JSON
 * specification asks of receivers.
 */
import { z } from 'zod';
import type { AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord } from '../../../schemas/otlp.js';

/** int64 fields: decimal strings (numbers are quoted before parsing, see codec.ts) or safe integers. */
const int64 = z.union([z.string().regex(/^-?\d+$/, 'expected an integer'), z.number().int()]);
const uint32 = z.number().int().nonnegative();

const anyValue: z.ZodType<AnyValue> = z.lazy(() =>
  z.object({
    stringValue: z.string().nullish(),
    boolValue: z.boolean().nullish(),
    intValue: int64.nullish(),
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).nullish(),
    arrayValue: z.object({ values: z.array(anyValue).nullish() }).nullish(),
    kvlistValue: z.object({ values: z.array(keyValue).nullish() }).nullish(),
    bytesValue: z.string().nullish(),
  }),
);

const keyValue: z.ZodType<KeyValue> = z.lazy(() => z.object({ key: z.string().nullish(), value: anyValue.nullish() }));

export const logRecordSchema = z.object({
  timeUnixNano: int64.nullish(),
  observedTimeUnixNano: int64.nullish(),
  severityNumber: z.union([z.number().int(), z.string()]).nullish(),
  severityText: z.string().nullish(),
  body: anyValue.nullish(),
  attributes: z.array(keyValue).nullish(),
  droppedAttributesCount: uint32.nullish(),
  flags: uint32.nullish(),
  traceId: z.string().nullish(),
  spanId: z.string().nullish(),
  eventName: z.string().nullish(),
});

const envelopeSchema = z.object({
  resourceLogs: z
    .array(
      z.object({
        resource: z.object({ attributes: z.array(keyValue).nullish(), droppedAttributesCount: uint32.nullish() }).nullish(),
        scopeLogs: z
          .array(
            z.object({
              scope: z.object({ name: z.string().nullish(), version: z.string().nullish(), attributes: z.array(keyValue).nullish() }).nullish(),
              // Checked one by one below: a bad record is rejected, not the request.
              logRecords: z.array(z.unknown()).nullish(),
              schemaUrl: z.string().nullish(),
            }),
          )
          .nullish(),
        schemaUrl: z.string().nullish(),
      }),
    )
    .nullish(),
});

/** "resourceLogs[0].scopeLogs[1]: expected array, received string" */
function describe(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0]!;
  const path = issue.path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), prefix);
  const message = issue.message.replace(/^Invalid input: /, '');
  return path ? `${path}: ${message}` : message;
}

export class RequestShapeError extends Error {}

/** Validates a parsed OTLP/JSON body; throws RequestShapeError when the envelope is wrong, marks records that are. */
export function validateJsonRequest(parsed: unknown): ExportLogsServiceRequest {
  const envelope = envelopeSchema.safeParse(parsed);
  if (!envelope.success) throw new RequestShapeError(describe(envelope.error));
  for (const resourceLogs of envelope.data.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      scopeLogs.logRecords = (scopeLogs.logRecords ?? []).map((record) => validateLogRecord(record));
    }
  }
  return envelope.data as ExportLogsServiceRequest;
}

function validateLogRecord(record: unknown): LogRecord {
  let result;
  try {
    result = logRecordSchema.safeParse(record);
  } catch (error) {
    // Nesting deep enough to exhaust the stack.
    if (error instanceof RangeError) return { invalid: 'malformed log record: values nested too deeply' };
    throw error;
  }
  return result.success ? (result.data as LogRecord) : { invalid: `malformed log record: ${describe(result.error)}` };
}
