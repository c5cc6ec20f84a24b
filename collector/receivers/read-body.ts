/**
 * Reads a request body within limits, enforced while streaming: the body as sent may not
 * exceed `maxBodyBytes`, and decompression stops as soon as the output would exceed
 * `maxDecompressedBytes` (zlib's maxOutputLength), so a gzip bomb never inflates past it.
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw, type ZlibOptions } from 'node:zlib';
import { badRequest, HttpError, payloadTooLarge, requestTimeout, unsupportedMediaType } from '../errors.js';

const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip);
const inflateAsync = promisify<Buffer, ZlibOptions, Buffer>(inflate);
const inflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(inflateRaw);

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecompressedBytes: number;
  requestTimeoutMs: number;
}

function readRaw(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    return Promise.reject(payloadTooLarge(`request body of ${declared} bytes exceeds the limit of ${limits.maxBodyBytes} bytes`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: HttpError) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error) {
        req.resume(); // discard the rest; the response closes the connection
        reject(error);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) finish(payloadTooLarge(`request body exceeds the limit of ${limits.maxBodyBytes} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(badRequest(`error reading the request body: ${error.message}`));
    const onAborted = () => finish(badRequest('the client aborted the request'));
    const timer = setTimeout(
      () => finish(requestTimeout(`request body not received within ${limits.requestTimeoutMs} ms`)),
      limits.requestTimeoutMs,
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

async function decompress(body: Buffer, encoding: string, limit: number): Promise<Buffer> {
  const options: ZlibOptions = { maxOutputLength: limit };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzipAsync(body, options);
    // HTTP "deflate" is zlib-wrapped, but some clients send raw deflate.
    try {
      return await inflateAsync(body, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') return await inflateRawAsync(body, options);
      throw error;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw payloadTooLarge(`decompressed body exceeds the limit of ${limit} bytes`);
    throw badRequest(`cannot decompress the ${encoding} body: ${(error as Error).message}`);
  }
}

/** The body, decompressed per Content-Encoding, within the limits. */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
    throw unsupportedMediaType(`unsupported Content-Encoding "${encoding.slice(0, 40)}" (use gzip, deflate or none)`);
  }
  const raw = await readRaw(req, limits);
  if (encoding === 'identity') {
    if (raw.length > limits.maxDecompressedBytes) throw payloadTooLarge(`request body exceeds the limit of ${limits.maxDecompressedBytes} bytes`);
    return raw;
  }
  return decompress(raw, encoding, limits.maxDecompressedBytes);
}
