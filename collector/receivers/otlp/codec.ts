/**
 * OTLP/HTTP logs wire formats: protobuf (the .proto files in schemas/proto, loaded with
 * protobufjs; requests are decoded by protobuf-decoder.ts) and OTLP/JSON. Decoders return the shape in schemas/otlp.ts; encoders
 * write ExportLogsServiceResponse and google.rpc.Status in the request's encoding.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { ExportLogsServiceRequest, ExportLogsServiceResponse } from '../../../schemas/otlp.js';
import { projectRoot } from '../../paths.js';
import { countJsonItems } from '../../../pipelines/json/count-items.js';
import { RecordLimitError } from '../record-limit.js';
import { decodeUtf8, InvalidUtf8Error } from '../utf8.js';
import { decodeExportLogsRequest } from './protobuf-decoder.js';
import { RequestShapeError, validateJsonRequest } from './json-schema.js';

export type OtlpEncoding = 'protobuf' | 'json';

export class DecodeError extends Error {}

/** protobufjs writes into plain (never shared) ArrayBuffers. */
export type WireBody = Uint8Array<ArrayBuffer> | string;

function loadRoot(): protobuf.Root {
  const protoDir = join(projectRoot(), 'schemas', 'proto');
  const root = new protobuf.Root();
  // google/protobuf/* are bundled with protobufjs; everything else is ours.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protoDir, target));
  root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'google/rpc/status.proto']);
  root.resolveAll();
  return root;
}

const root = loadRoot();
export const ExportLogsServiceRequestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponseType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const StatusType = root.lookupType('google.rpc.Status');

export function decodeProtobuf(body: Uint8Array, maxRecords?: number): ExportLogsServiceRequest {
  try {
    return decodeExportLogsRequest(body, maxRecords);
  } catch (error) {
    if (error instanceof RecordLimitError) throw error;
    throw new DecodeError(`invalid protobuf ExportLogsServiceRequest: ${(error as Error).message}`);
  }
}

// int64 fields may be JSON numbers beyond 2^53; quote them before JSON.parse rounds them.
// A quote inside a JSON string is always escaped, so this never matches string content.
const INT64_NUMBER_FIELDS = /"(timeUnixNano|observedTimeUnixNano|intValue)"(\s*:\s*)(-?\d+)(?=\s*[,}])/g;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws RecordLimitError, before parsing, when the body holds more than `maxRecords` logRecords. */
export function decodeJson(body: Uint8Array, maxRecords = Number.MAX_SAFE_INTEGER): ExportLogsServiceRequest {
  countJsonItems(body, maxRecords, { keys: ['logRecords'] });
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(body).replace(INT64_NUMBER_FIELDS, '"$1"$2"$3"'));
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw new DecodeError(error.message);
    throw new DecodeError(`invalid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new DecodeError('an OTLP/JSON ExportLogsServiceRequest must be a JSON object');
  try {
    return validateJsonRequest(parsed);
  } catch (error) {
    if (error instanceof RequestShapeError) throw new DecodeError(`invalid OTLP/JSON ExportLogsServiceRequest: ${error.message}`);
    throw error;
  }
}

export function decodeRequest(body: Uint8Array, encoding: OtlpEncoding, maxRecords?: number): ExportLogsServiceRequest {
  return encoding === 'protobuf' ? decodeProtobuf(body, maxRecords) : decodeJson(body, maxRecords);
}

export function contentTypeOf(encoding: OtlpEncoding): string {
  return encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
}

export function encodeResponse(response: ExportLogsServiceResponse, encoding: OtlpEncoding): WireBody {
  if (encoding === 'json') {
    return JSON.stringify(
      response.partialSuccess
        ? { partialSuccess: { rejectedLogRecords: String(response.partialSuccess.rejectedLogRecords), errorMessage: response.partialSuccess.errorMessage } }
        : {},
    );
  }
  return ExportLogsServiceResponseType.encode(ExportLogsServiceResponseType.fromObject(response)).finish() as Uint8Array<ArrayBuffer>;
}

/** google.rpc.Status: code uses the gRPC code space (3 invalid argument, 14 unavailable, …). */
export function encodeStatus(code: number, message: string, encoding: OtlpEncoding): WireBody {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return StatusType.encode(StatusType.fromObject({ code, message })).finish() as Uint8Array<ArrayBuffer>;
}
