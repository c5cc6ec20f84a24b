/**
 * Errors that cross the HTTP boundary carry their class: the status a client gets, and
 * for retryable ones how long to wait. They become responses in one place
 * (receivers/error-response.ts).
 */

export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 408 | 413 | 415 | 429 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const unauthorized = (message = 'missing or unknown bearer token') => new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const payloadTooLarge = (message: string) => new HttpError(413, message);
export const unsupportedMediaType = (message: string) => new HttpError(415, message);
export const requestTimeout = (message: string) => new HttpError(408, message);
export const unavailable = (message: string, retryAfterSeconds = 1) => new HttpError(503, message, retryAfterSeconds);

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
