/**
 * The shape of a decoded OTLP ExportLogsServiceRequest, as both decoders hand it over:
 * protobufjs messages (int64 as Long, ids as bytes) and OTLP/JSON (int64 as string or
 * number, ids as hex). Pipelines read either through pipelines/otlp/values.ts.
 */

export interface LongBits {
  low: number;
  high: number;
  unsigned?: boolean;
}

export type Int64Value = number | string | LongBits;
export type BytesValue = Uint8Array | string;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64Value | null;
  doubleValue?: number | string | null;
  arrayValue?: { values?: AnyValue[] | null } | null;
  kvlistValue?: { values?: KeyValue[] | null } | null;
  bytesValue?: BytesValue | null;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

export interface LogRecord {
  timeUnixNano?: Int64Value | null;
  observedTimeUnixNano?: Int64Value | null;
  severityNumber?: number | string | null;
  severityText?: string | null;
  body?: AnyValue | null;
  attributes?: KeyValue[] | null;
  droppedAttributesCount?: number | null;
  flags?: number | null;
  traceId?: BytesValue | null;
  spanId?: BytesValue | null;
  eventName?: string | null;
  /** The record's protobuf encoding as received (set by the protobuf decoder only). */
  wire?: Uint8Array;
  /** Set by the OTLP/JSON validation when the record does not have the LogRecord shape: why. */
  invalid?: string;
}

export interface ScopeLogs {
  scope?: { name?: string | null; version?: string | null; attributes?: KeyValue[] | null } | null;
  logRecords?: LogRecord[] | null;
  schemaUrl?: string | null;
}

export interface ResourceLogs {
  resource?: { attributes?: KeyValue[] | null; droppedAttributesCount?: number | null } | null;
  scopeLogs?: ScopeLogs[] | null;
  schemaUrl?: string | null;
}

export interface ExportLogsServiceRequest {
  resourceLogs?: ResourceLogs[] | null;
}

export interface ExportLogsServiceResponse {
  partialSuccess?: { rejectedLogRecords: number; errorMessage: string };
}
