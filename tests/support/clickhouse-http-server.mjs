/**
 * A test ClickHouse server: the part of ClickHouse's HTTP interface that @clickhouse/client
 * 1.x uses, in front of chDB on a data directory of its own. Run by clickhouse-http.ts as a
 * child process (chDB holds one data directory per process); plain JavaScript so that it
 * runs with `node` and no build step.
 *
 *   node clickhouse-http-server.mjs DATA_DIR [PORT [SPOOL_DIR]]
 *
 * Listens on 127.0.0.1:PORT (0: any free port) and reports `{ type: 'listening', port }`
 * over the IPC channel, or prints it as a JSON line when started without one. Exits when
 * told `{ type: 'stop' }`, on SIGTERM/SIGINT, and when the parent goes away.
 *
 * Each request runs on a chDB session of its own, opened for it and closed after it:
 * settings and `param_*` values are session state in chDB, and a server applies them per
 * request. Sessions on one path run in parallel, so a long query does not hold up inserts.
 * What is served (and what is not) is listed in README.md under "The ClickHouse server path".
 */
import { createServer } from 'node:http';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { Session, drainPending } from 'chdb';

const [dataDir, portArg = '0', spoolArg] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write('usage: clickhouse-http-server.mjs DATA_DIR [PORT [SPOOL_DIR]]\n');
  process.exit(2);
}

/** URL parameters that belong to the HTTP layer, not to the engine's settings. */
const NOT_SETTINGS = new Set([
  'query', 'query_id', 'database', 'default_format', 'session_id', 'session_timeout', 'session_check',
  'user', 'password', 'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query',
  'enable_http_compression', 'http_zlib_compression_level', 'http_response_compression_method',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_send_progress_interval_ms',
  'http_response_buffer_size', 'http_native_compression_disable_checksumming_on_decompress',
  'add_http_cors_header', 'cancel_http_readonly_queries_on_client_close', 'client_protocol_version',
]);

/** ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by error name. */
const STATUS_BY_ERROR = new Map([
  ...['REQUIRED_PASSWORD'].map((n) => [n, 401]),
  ...['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED'].map((n) => [n, 403]),
  ...[
    'BAD_ARGUMENTS', 'CANNOT_COMPILE_REGEXP', 'CANNOT_PARSE_TEXT', 'CANNOT_PARSE_ESCAPE_SEQUENCE', 'CANNOT_PARSE_QUOTED_STRING',
    'CANNOT_PARSE_DATE', 'CANNOT_PARSE_DATETIME', 'CANNOT_PARSE_NUMBER', 'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
    'CANNOT_PARSE_IPV4', 'CANNOT_PARSE_IPV6', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'CANNOT_PARSE_UUID', 'DUPLICATE_COLUMN',
    'ILLEGAL_COLUMN', 'UNKNOWN_ELEMENT_IN_AST', 'UNKNOWN_TYPE_OF_AST_NODE', 'THERE_IS_NO_COLUMN', 'TOO_DEEP_AST', 'TOO_BIG_AST',
    'UNEXPECTED_AST_STRUCTURE', 'SYNTAX_ERROR', 'INCORRECT_DATA', 'TYPE_MISMATCH', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  ].map((n) => [n, 400]),
  ...[
    'UNKNOWN_TABLE', 'UNKNOWN_FUNCTION', 'UNKNOWN_IDENTIFIER', 'UNKNOWN_TYPE', 'UNKNOWN_STORAGE', 'UNKNOWN_DATABASE',
    'UNKNOWN_SETTING', 'UNKNOWN_DIRECTION_OF_SORTING', 'UNKNOWN_AGGREGATE_FUNCTION', 'UNKNOWN_FORMAT',
    'UNKNOWN_DATABASE_ENGINE', 'UNKNOWN_TYPE_OF_QUERY', 'UNKNOWN_ROLE',
  ].map((n) => [n, 404]),
  ['QUERY_IS_TOO_LARGE', 413],
  ['NOT_IMPLEMENTED', 501],
  ['SOCKET_TIMEOUT', 503],
  ['CANNOT_OPEN_FILE', 503],
  ['CANNOT_SCHEDULE_TASK', 503],
  ['HTTP_LENGTH_REQUIRED', 411],
  ['TIMEOUT_EXCEEDED', 408],
  ['UNSUPPORTED_MEDIA_TYPE', 415],
]);

/** An error raised by this server itself, shaped like the engine's. */
class ServerError extends Error {
  constructor(code, name, message) {
    super(`Code: ${code}. DB::Exception: ${message}. (${name})`);
  }
}
const syntaxError = (message) => new ServerError(62, 'SYNTAX_ERROR', message);
const badArguments = (message) => new ServerError(36, 'BAD_ARGUMENTS', message);
const notImplemented = (message) => new ServerError(48, 'NOT_IMPLEMENTED', `${message} (not served by the test server)`);

/** A single-quoted SQL string literal: `\`, `'` and NUL escaped, so no value can end it. */
function sqlString(value) {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * True when the text holds a second statement after a `;` (a server refuses those; chDB
 * would run them). Skips string literals, quoted identifiers and comments.
 */
function hasSecondStatement(sql) {
  let i = 0;
  let ended = false;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i += 1;
      while (i < sql.length && sql[i] !== c) i += sql[i] === '\\' ? 2 : 1;
      i += 1;
      if (ended) return true;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i += 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === ';') {
      ended = true;
      i += 1;
    } else {
      if (ended && !/\s/.test(c)) return true;
      i += 1;
    }
  }
  return false;
}

/** `INSERT … FORMAT Name` (or `… VALUES`) whose data comes in the request body. */
const INSERT_HEAD = /^\s*INSERT\s+INTO\s+([\s\S]*?)(\s+SETTINGS\s+[\s\S]*?)?\s+(?:FORMAT\s+([A-Za-z0-9_]+)|(VALUES))\s*;?\s*$/i;

/** The output format a statement ends with, for the response headers. */
function outputFormat(sql, defaultFormat) {
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql)?.[1] ?? defaultFormat;
}

function contentType(format) {
  if (/^JSON/i.test(format)) return /EachRow|Lines|Strings|Compact(?!$)/i.test(format) ? 'application/x-ndjson; charset=UTF-8' : 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8; header=absent';
  if (/^(Native|RowBinary|Parquet|Arrow)/i.test(format)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

function decompressor(encoding) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw notImplemented(`Content-Encoding ${encoding}`);
  }
}

/** The response codec a client asked for with enable_http_compression=1 and Accept-Encoding. */
function responseEncoding(url, acceptEncoding) {
  if (url.searchParams.get('enable_http_compression') !== '1' || !acceptEncoding) return undefined;
  const offered = acceptEncoding.split(',').map((e) => e.split(';')[0].trim().toLowerCase());
  return ['gzip', 'deflate', 'br'].find((e) => offered.includes(e));
}

function compress(encoding, body) {
  if (encoding === 'gzip') return zlib.gzipSync(body);
  if (encoding === 'deflate') return zlib.deflateSync(body);
  if (encoding === 'br') return zlib.brotliCompressSync(body);
  return body;
}

/**
 * Private (0700) directory for insert bodies: given by the parent (which removes it after a
 * kill), else made here; in memory when the system has /dev/shm.
 */
const spoolDir = spoolArg ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'clickhouse-http-'));
let spooled = 0;

/** Reads the whole (decoded) body. */
async function readBody(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The query, its parameters and settings: from the URL, and from the body when it is a
 * multipart form (what the client sends with use_multipart_params).
 */
async function requestParts(req, url, body) {
  const fields = new Map([...url.searchParams]);
  const type = req.headers['content-type'] ?? '';
  let rest = body;
  if (/^multipart\/form-data/i.test(type)) {
    const form = await new Response(await readBody(body), { headers: { 'content-type': type } }).formData();
    for (const [key, value] of form) fields.set(key, typeof value === 'string' ? value : await value.text());
    rest = undefined;
  }
  const params = {};
  const settings = {};
  for (const [key, value] of fields) {
    if (key.startsWith('param_')) params[key.slice('param_'.length)] = value;
    else if (!NOT_SETTINGS.has(key)) settings[key] = value;
  }
  return { fields, params, settings, rest };
}

/** SET statements for the request's settings (readonly last: a read-only session may set nothing after it) and parameters. */
function sessionSetup(params, settings) {
  const assignments = [];
  const { readonly, ...others } = settings;
  for (const [key, value] of Object.entries({ ...others, ...(readonly === undefined ? {} : { readonly }) })) {
    if (!NAME.test(key)) throw badArguments(`Invalid setting name ${JSON.stringify(key)}`);
    assignments.push(`${key} = ${sqlString(value)}`);
  }
  for (const [key, value] of Object.entries(params)) {
    if (!NAME.test(key)) throw new ServerError(457, 'BAD_QUERY_PARAMETER', `Invalid query parameter name ${JSON.stringify(key)}`);
    // The engine parses the value as a server does a `param_` value: in the Escaped format of the placeholder's type.
    assignments.push(`param_${key} = ${sqlString(value)}`);
  }
  return assignments;
}

/**
 * Runs one request on a session of its own; returns { bytes, format, summary }.
 * An INSERT whose data is the body goes through a private file read with FROM INFILE,
 * so binary formats (Native, RowBinary) arrive byte for byte.
 */
async function execute({ query, dataStream, params, settings, database, defaultFormat }) {
  const setup = sessionSetup(params, settings);
  const session = new Session(dataDir);
  let file;
  try {
    if (database && database !== 'default') {
      if (!NAME.test(database)) throw badArguments(`Invalid database name ${JSON.stringify(database)}`);
      await session.queryAsync(`USE ${database}`);
    }
    if (setup.length > 0) await session.queryAsync(`SET ${setup.join(', ')}`);
    let sql = query;
    const insert = dataStream ? INSERT_HEAD.exec(query) : null;
    if (dataStream && insert) {
      const [, target, settingsClause = '', format = 'Values'] = insert;
      file = join(spoolDir, `insert-${++spooled}`);
      await pipeline(dataStream, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      sql = `INSERT INTO ${target} FROM INFILE ${sqlString(file)} COMPRESSION 'none'${settingsClause} FORMAT ${format}`;
    } else if (dataStream) {
      const more = (await readBody(dataStream)).toString('utf8');
      if (more.length > 0) sql = `${query}\n${more}`;
    }
    if (sql.trim() === '') throw syntaxError('Empty query');
    const inlineInsert = /^\s*INSERT\s/i.test(sql) && /\b(FORMAT\s+[A-Za-z0-9_]+|VALUES)\s*[\s\S]/i.test(sql);
    if (!inlineInsert && hasSecondStatement(sql)) throw syntaxError('Multi-statements are not allowed');
    const result = await session.queryAsync(sql, { format: defaultFormat });
    const isInsert = /^\s*INSERT\s/i.test(sql);
    const rows = String(result.rowsRead ?? 0);
    const bytes = String(result.bytesRead ?? 0);
    const summary = {
      read_rows: rows,
      read_bytes: bytes,
      written_rows: isInsert ? rows : '0',
      written_bytes: isInsert ? bytes : '0',
      total_rows_to_read: '0',
      result_rows: isInsert ? '0' : rows,
      result_bytes: isInsert ? '0' : bytes,
      elapsed_ns: String(Math.round((result.elapsed ?? 0) * 1e9)),
    };
    return { bytes: Buffer.from(result.bytes()), format: outputFormat(sql, defaultFormat), summary };
  } finally {
    session.close();
    if (file) rmSync(file, { force: true });
  }
}

/** The engine's `Code: N. DB::Exception: … (NAME)` message, its code and name. */
function describeError(error) {
  const message = error instanceof Error ? error.message : String(error);
  const match = /Code: (\d+)\.[\s\S]*\(([A-Z0-9_]+)\)\s*$/.exec(message.trim());
  if (match) return { code: Number(match[1]), name: match[2], message: message.trim() };
  return { code: 1001, name: 'STD_EXCEPTION', message: `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION)` };
}

let inFlight = 0;
let idle;

async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const queryId = url.searchParams.get('query_id') || randomUUID();
  const encoding = responseEncoding(url, req.headers['accept-encoding']);
  const send = (status, body, headers) => {
    const payload = compress(encoding, body);
    res.writeHead(status, {
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Timezone': 'UTC',
      'X-ClickHouse-Server-Display-Name': 'clickhouse-http-test',
      ...(encoding ? { 'Content-Encoding': encoding } : {}),
      'Content-Length': payload.length,
      ...headers,
    });
    res.end(payload);
  };
  try {
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
      req.resume();
      return send(200, Buffer.from('Ok.\n'), { 'Content-Type': 'text/html; charset=UTF-8' });
    }
    if (url.pathname !== '/') throw new ServerError(1001, 'STD_EXCEPTION', `There is no handle ${url.pathname}`);
    if (req.method !== 'GET' && req.method !== 'POST') throw badArguments(`HTTP method ${req.method} is not supported`);
    if (url.searchParams.get('decompress') === '1' || url.searchParams.get('compress') === '1') {
      throw notImplemented("ClickHouse's native block compression (compress=1/decompress=1)");
    }
    const decode = decompressor(req.headers['content-encoding']);
    const body = decode ? req.pipe(decode) : req;
    const { fields, params, settings, rest } = await requestParts(req, url, body);
    const urlQuery = fields.get('query') ?? '';
    // A server reads the statement from the URL and the body together; with a query in the
    // URL, the body continues it (an INSERT's data), else the body is the statement.
    let query = urlQuery;
    let dataStream;
    if (urlQuery === '') query = rest ? (await readBody(rest)).toString('utf8') : '';
    else dataStream = req.method === 'POST' ? rest : undefined;
    // As on a server, a GET request is read-only.
    if (req.method === 'GET') settings.readonly ??= '2';
    const defaultFormat = fields.get('default_format') || 'TabSeparated';
    const result = await execute({ query, dataStream, params, settings, database: fields.get('database'), defaultFormat });
    send(200, result.bytes, {
      'Content-Type': contentType(result.format),
      'X-ClickHouse-Format': result.format,
      'X-ClickHouse-Summary': JSON.stringify(result.summary),
    });
  } catch (error) {
    req.resume();
    const { code, name, message } = describeError(error);
    if (res.headersSent) return res.destroy();
    send(STATUS_BY_ERROR.get(name) ?? 500, Buffer.from(`${message}\n`), {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(code),
    });
  }
}

// The anchor session holds the data directory (and its lock) for the life of the process.
const anchor = new Session(dataDir);
await anchor.queryAsync('SELECT 1');

const server = createServer({ maxHeaderSize: 1024 * 1024, keepAliveTimeout: 10_000 }, (req, res) => {
  inFlight += 1;
  handle(req, res).finally(() => {
    inFlight -= 1;
    if (inFlight === 0) idle?.();
  });
});

let stopping = false;
/** Stops listening, lets requests in flight finish (bounded), closes chDB and exits. */
async function stop(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(exitCode === 0 ? 1 : exitCode), 10_000).unref();
  server.close();
  server.closeIdleConnections();
  if (inFlight > 0) await new Promise((resolve) => (idle = resolve));
  server.closeAllConnections();
  anchor.close();
  await drainPending();
  rmSync(spoolDir, { recursive: true, force: true });
  process.exit(exitCode);
}

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The parent went away (even by SIGKILL): the IPC channel closes, and so does this server.
process.on('disconnect', () => void stop());
process.on('message', (message) => {
  if (message && message.type === 'stop') void stop();
});

server.on('error', (error) => {
  process.stderr.write(`clickhouse-http: ${error.message}\n`);
  void stop(3);
});
server.listen(Number(portArg), '127.0.0.1', () => {
  const { port } = server.address();
  const ready = { type: 'listening', port };
  if (process.send) process.send(ready);
  else process.stdout.write(`${JSON.stringify(ready)}\n`);
});
