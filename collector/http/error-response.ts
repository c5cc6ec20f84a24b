/**
 * The one place where failures become HTTP answers, for both listeners and the SQL route:
 * typed errors keep their status and reason; store errors become 429/503 with Retry-After
 * (retryable), 504 (a time limit), 422 (a result or memory limit) or 400 (a statement the
 * store rejects); anything else is a bug, answered 503 `internal` so ingest clients keep
 * their data and retry. Each listener only chooses the body's encoding.
 */
import { HttpError, StoreBusyError, StoreUnavailableError } from '../errors.js';
import { classifyStoreError, type StoreErrorInfo } from '../store/clickhouse-error.js';
import { LogFullError, LogWriteError } from '../ingest-log/ingest-log.js';
import { AnalystSqlError } from '../store/analyst-sql.js';

function fromStore(info: StoreErrorInfo): HttpError {
  switch (info.kind) {
    case 'syntax':
    case 'invalid':
      return new HttpError(400, info.message, undefined, 'invalid_request');
    case 'limit':
      return new HttpError(422, info.message, undefined, 'limit_exceeded');
    case 'timeout':
      return new HttpError(504, info.message, undefined, 'timeout');
    case 'unavailable':
      return new HttpError(503, `the store is unavailable: ${info.message}`, 2, 'store_unavailable');
    case 'misconfigured':
      return new HttpError(503, 'the store refused the sidecar\'s credentials', 30, 'store_unavailable');
  }
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreBusyError) return new HttpError(429, error.message, 1);
  if (error instanceof StoreUnavailableError) return new HttpError(503, error.message, 2);
  if (error instanceof AnalystSqlError) return new HttpError(400, error.message, undefined, 'invalid_request');
  if (error instanceof LogFullError) return new HttpError(503, error.message, 2, 'ingest_log_full');
  if (error instanceof LogWriteError) return new HttpError(503, error.message, 2, 'ingest_log_unwritable');
  const store = classifyStoreError(error);
  if (store) return fromStore(store);
  return new HttpError(503, `internal error: ${(error as Error)?.message ?? String(error)}`, 5, 'internal');
}

/** Headers every error answer carries: when to retry, Allow on a 405, and closing a connection whose body was not read. */
export function errorHeaders(error: HttpError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.status === 413 || error.status === 408) headers.connection = 'close';
  return headers;
}

/** How a listener encodes an error's body; JSON `{error, reason}` unless it says otherwise. */
export type ErrorBodyEncoder = (error: HttpError) => { body: string | Uint8Array; contentType: string };

export const jsonErrorBody: ErrorBodyEncoder = (error) => ({
  body: JSON.stringify({ error: error.message, reason: error.reason }),
  contentType: 'application/json',
});

/** Turns any error into the HTTP answer; returns the classified error too, for logs and metrics. */
export function errorResponse(error: unknown, encode: ErrorBodyEncoder = jsonErrorBody): { response: Response; httpError: HttpError } {
  const httpError = toHttpError(error);
  const { body, contentType } = encode(httpError);
  const response = new Response(body, { status: httpError.status, headers: { ...errorHeaders(httpError), 'content-type': contentType } });
  return { response, httpError };
}
