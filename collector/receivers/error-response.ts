/**
 * The one place where failures become HTTP errors: typed errors keep their status, store
 * errors become retryable 429/503 with Retry-After, anything else is a 500-class bug
 * reported as 503 so clients keep their data and retry.
 */
import { HttpError, StoreBusyError, StoreUnavailableError } from '../errors.js';
import { LogFullError, LogWriteError } from '../ingest-log/ingest-log.js';

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreBusyError) return new HttpError(429, error.message, 1);
  if (error instanceof StoreUnavailableError) return new HttpError(503, error.message, 2);
  if (error instanceof LogFullError) return new HttpError(503, error.message, 2);
  if (error instanceof LogWriteError) return new HttpError(503, error.message, 2);
  return new HttpError(503, `internal error: ${(error as Error)?.message ?? String(error)}`, 5);
}

/** Headers every error answer carries: when to retry, and closing a connection whose body was not read. */
export function errorHeaders(error: HttpError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.status === 413 || error.status === 408) headers.connection = 'close';
  return headers;
}
