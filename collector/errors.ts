/**
 * One error model. Errors that cross the HTTP boundary carry their class: a stable reason
 * code (for clients, logs and metric labels), the status a client gets, and for retryable
 * ones how long to wait. They become responses in one place (http/error-response.ts).
 */

/** Stable reason codes: part of every error answer's body as `reason`. */
export type ReasonCode =
  | 'invalid_request'
  | 'invalid_record'
  | 'limit_exceeded'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'request_timeout'
  | 'conflict'
  | 'busy'
  | 'store_unavailable'
  | 'ingest_log_full'
  | 'ingest_log_unwritable'
  | 'timeout'
  | 'internal';

export type HttpStatus = 400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503 | 504;

const REASON_OF_STATUS: Record<HttpStatus, ReasonCode> = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'limit_exceeded',
  415: 'unsupported_media_type',
  422: 'limit_exceeded',
  429: 'busy',
  500: 'internal',
  503: 'store_unavailable',
  504: 'timeout',
};

export class HttpError extends Error {
  readonly reason: ReasonCode;

  constructor(
    readonly status: HttpStatus,
    message: string,
    readonly retryAfterSeconds?: number,
    reason?: ReasonCode,
    /** Extra response headers, e.g. Allow on a 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.reason = reason ?? REASON_OF_STATUS[status];
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const invalidRecord = (message: string) => new HttpError(400, message, undefined, 'invalid_record');
export const unauthorized = (message = 'missing or unknown bearer token') => new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (message: string) => new HttpError(404, message);
export const methodNotAllowed = (method: string, path: string, allow: readonly string[]) =>
  new HttpError(405, `${method} is not allowed on ${path} (allowed: ${allow.join(', ')})`, undefined, 'method_not_allowed', { allow: allow.join(', ') });
export const payloadTooLarge = (message: string) => new HttpError(413, message);
export const unprocessable = (message: string) => new HttpError(422, message);
export const unsupportedMediaType = (message: string) => new HttpError(415, message);
export const requestTimeout = (message: string) => new HttpError(408, message);
export const unavailable = (message: string, retryAfterSeconds = 1) => new HttpError(503, message, retryAfterSeconds);
export const gatewayTimeout = (message: string) => new HttpError(504, message);

/** The store could not commit; the client keeps the data and retries. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The store holds as many uncommitted rows as it may; shed load until it catches up. */
export class StoreBusyError extends Error {
  constructor(readonly pendingRows: number) {
    super(`store is busy: ${pendingRows} records waiting to be committed`);
    this.name = 'StoreBusyError';
  }
}

/** The sidecar cannot start (a port in use, the store unreachable, a refused bind); the message says what to do. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
