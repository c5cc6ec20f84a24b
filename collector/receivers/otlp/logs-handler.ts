/**
 * POST /v1/logs: authenticate, read the body within limits, decode, normalize, commit,
 * and only then answer 200 with an ExportLogsServiceResponse in the request's encoding.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { countLogRecords, describeRejections, normalizeExportRequest } from '../../../pipelines/otlp/request.js';
import type { RetentionPolicy } from '../../../pipelines/normalize/retention.js';
import type { TokenVerifier } from '../../auth/tokens.js';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../../errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { IngestStats } from '../ingest-stats.js';
import type { Logger } from '../../log.js';
import { readBody, type BodyLimits } from '../read-body.js';
import { nowNanos } from '../clock.js';
import { errorResponse } from '../../http/error-response.js';
import { RecordLimitError } from '../record-limit.js';
import { JsonItemCounter } from '../../../pipelines/json/count-items.js';
import { ProtobufRecordCounter } from './protobuf-record-counter.js';
import { contentTypeOf, DecodeError, decodeRequest, encodeResponse, encodeStatus, type OtlpEncoding } from './codec.js';

export interface OtlpLogsDeps {
  store: EventStore;
  auth: TokenVerifier;
  limits: BodyLimits & { maxRecordsPerRequest: number };
  retention: RetentionPolicy;
  stats: IngestStats;
  log: Logger;
}

const ENCODINGS: Record<string, OtlpEncoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** gRPC status codes for the Status body, by HTTP status. */
const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 408: 4, 413: 8, 415: 3, 422: 8, 429: 8, 500: 13, 503: 14, 504: 4 };

function encodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  return ENCODINGS[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
}

function tooManyRecords(error: unknown): never {
  if (error instanceof RecordLimitError) throw payloadTooLarge(`more than ${error.limit} log records in the request (the limit per request)`);
  throw error;
}

/**
 * Decodes, normalizes and queues a request's records; the promise settles once they are
 * committed. Synchronous up to the commit on purpose: nothing of the decoded request is
 * referenced while it waits, so it dies young (objects kept across the wait, ~a commit
 * long, were promoted to the old generation and made collection the main thread's
 * largest cost).
 */
function decodeAndSubmit(body: Uint8Array, encoding: OtlpEncoding, tenantOverride: string | undefined, deps: OtlpLogsDeps) {
  let request;
  try {
    request = decodeRequest(body, encoding, deps.limits.maxRecordsPerRequest);
  } catch (error) {
    if (error instanceof RecordLimitError) tooManyRecords(error);
    if (error instanceof DecodeError || error instanceof RangeError) throw badRequest(error.message);
    throw error;
  }
  // The decoders stop at the limit; this catches what they do not see (OTLP/JSON with keys the scan does not name).
  const total = countLogRecords(request);
  if (total > deps.limits.maxRecordsPerRequest) {
    throw payloadTooLarge(`${total} log records exceed the limit of ${deps.limits.maxRecordsPerRequest} per request`);
  }
  const { events, received, rejected } = normalizeExportRequest(request, { tenantOverride, receivedAtNanos: nowNanos(), retention: deps.retention });
  return { committed: deps.store.submit(events, received), accepted: events.length, rejected };
}

export function otlpLogsHandler(deps: OtlpLogsDeps) {
  return async function otlpLogs(c: Context<{ Bindings: { incoming: IncomingMessage } }>): Promise<Response> {
    const encoding = encodingOf(c.req.header('content-type'));
    try {
      const principal = deps.auth.authenticate(c.req.header('authorization'), 'ingest');
      if (!encoding) {
        throw unsupportedMediaType('Content-Type must be application/x-protobuf or application/json');
      }
      const limit = deps.limits.maxRecordsPerRequest;
      const counter = encoding === 'protobuf' ? new ProtobufRecordCounter(limit) : new JsonItemCounter(limit, { keys: ['logRecords'] });
      const body = await readBody(c.env.incoming, deps.limits, counter).catch(tooManyRecords);
      const { committed, accepted, rejected } = decodeAndSubmit(body, encoding, principal.tenant, deps);
      await committed;
      deps.stats.record('otlp', accepted, rejected);
      const response = rejected.length > 0
        ? { partialSuccess: { rejectedLogRecords: rejected.length, errorMessage: describeRejections(rejected) } }
        : {};
      return c.body(encodeResponse(response, encoding), 200, { 'content-type': contentTypeOf(encoding) });
    } catch (error) {
      // Errors are a google.rpc.Status in the request's encoding, as OTLP/HTTP specifies.
      const statusEncoding = encoding ?? 'json';
      const { response, httpError } = errorResponse(error, (e) => ({
        body: encodeStatus(GRPC_CODES[e.status] ?? 2, e.message, statusEncoding),
        contentType: contentTypeOf(statusEncoding),
      }));
      deps.stats.recordFailure('otlp', httpError.status);
      if (httpError.status >= 500) deps.log.warn('ingest request failed', { path: '/v1/logs', status: httpError.status, reason: httpError.reason, error: httpError.message });
      return response;
    }
  };
}
