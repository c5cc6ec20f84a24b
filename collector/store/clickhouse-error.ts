/**
 * ClickHouse errors (server or chDB, both surface as the client's ClickHouseError) parsed
 * into {code, type} and classified: what kind of failure it is and whether trying again
 * can help. Network failures reaching a server count as the store being unavailable.
 * Like Vector's ClickHouse sink: an error that says the data or the statement is wrong is
 * never retryable.
 */

export type StoreErrorKind =
  /** The statement does not parse. */
  | 'syntax'
  /** The statement or the data is wrong (unknown table or column, bad type, bad value, a write in a read-only session). */
  | 'invalid'
  /** A result, memory or size limit was hit. */
  | 'limit'
  /** A time limit was hit. */
  | 'timeout'
  /** The store cannot answer now (down, unreachable, overloaded): try again later. */
  | 'unavailable'
  /** The store refuses us (credentials, permissions): retrying will not help. */
  | 'misconfigured';

export interface StoreErrorInfo {
  code: number | undefined;
  type: string | undefined;
  kind: StoreErrorKind;
  retryable: boolean;
  /** The first line of the message, without ClickHouse's code and version decorations. */
  message: string;
}

const KIND_OF_TYPE: Record<string, StoreErrorKind> = {
  SYNTAX_ERROR: 'syntax',
  READONLY: 'invalid',
  ACCESS_DENIED: 'misconfigured',
  AUTHENTICATION_FAILED: 'misconfigured',
  REQUIRED_PASSWORD: 'misconfigured',
  UNKNOWN_USER: 'misconfigured',
  TOO_MANY_ROWS: 'limit',
  TOO_MANY_BYTES: 'limit',
  TOO_MANY_ROWS_OR_BYTES: 'limit',
  MEMORY_LIMIT_EXCEEDED: 'limit',
  TOO_MANY_COLUMNS: 'limit',
  QUERY_IS_TOO_LARGE: 'limit',
  TOO_DEEP_RECURSION: 'limit',
  TIMEOUT_EXCEEDED: 'timeout',
  SOCKET_TIMEOUT: 'timeout',
  QUERY_WAS_CANCELLED: 'timeout',
  NETWORK_ERROR: 'unavailable',
  TOO_MANY_SIMULTANEOUS_QUERIES: 'unavailable',
  TOO_MANY_PARTS: 'unavailable',
  TABLE_IS_READ_ONLY: 'unavailable',
  KEEPER_EXCEPTION: 'unavailable',
  ALL_CONNECTION_TRIES_FAILED: 'unavailable',
  UNKNOWN_STATUS_OF_INSERT: 'unavailable',
  ABORTED: 'unavailable',
  CANNOT_OPEN_FILE: 'unavailable',
};

const RETRYABLE: ReadonlySet<StoreErrorKind> = new Set(['timeout', 'unavailable']);

/** Node and undici error codes for a server that cannot be reached. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

const CLICKHOUSE_MESSAGE = /^Code: (\d+)\. DB::Exception: (.*?) \(([A-Z][A-Z0-9_]+)\)/s;

/**
 * {code, type} of a ClickHouse error. The client's ClickHouseError has them, but chDB's
 * connection throws its own copy of that class (another package instance), so the check
 * is by shape, with the raw "Code: N. DB::Exception: … (TYPE)" text as a fallback.
 */
export function parseClickHouseError(error: Error): { code: number; type: string; message: string } | undefined {
  const { code, type } = error as { code?: unknown; type?: unknown };
  if (typeof code === 'string' && /^\d+$/.test(code) && typeof type === 'string') return { code: Number(code), type, message: error.message };
  const match = CLICKHOUSE_MESSAGE.exec(error.message);
  return match ? { code: Number(match[1]), type: match[3]!, message: match[2]! } : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/\s*\(version [^)]*\)\s*$/, '').trim();
}

/** Classifies a store error; undefined for errors that did not come from the store or the way to it. */
export function classifyStoreError(error: unknown): StoreErrorInfo | undefined {
  if (!(error instanceof Error)) return undefined;
  const parsed = parseClickHouseError(error);
  if (parsed) {
    const kind = KIND_OF_TYPE[parsed.type] ?? 'invalid';
    return { code: parsed.code, type: parsed.type, kind, retryable: RETRYABLE.has(kind), message: firstLine(parsed.message) };
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return { code: undefined, type: code, kind: 'unavailable', retryable: true, message: firstLine(error.message) };
  }
  // @clickhouse/client reports its own request_timeout this way.
  if (/^Timeout error\.?$/.test(error.message)) return { code: undefined, type: 'TIMEOUT', kind: 'timeout', retryable: true, message: 'the store did not answer in time' };
  return undefined;
}
