/**
 * Reads a request body within limits, enforced while streaming: the body as sent may not
 * exceed `maxBodyBytes`, and decompression stops as soon as the output would exceed
 * `maxDecompressedBytes` (the inflate stream is cut there), so a gzip bomb never inflates past it.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { RecordCounter } from '../../pipelines/json/count-items.js';
import { badRequest, payloadTooLarge, requestTimeout, unsupportedMediaType } from '../errors.js';

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecompressedBytes: number;
  requestTimeoutMs: number;
}

function readRaw(req: IncomingMessage, limits: BodyLimits, counter: RecordCounter | undefined): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    return Promise.reject(payloadTooLarge(`request body of ${declared} bytes exceeds the limit of ${limits.maxBodyBytes} bytes`));
  }
  // With a declared length the body is read into one buffer of that size: no chunk list
  // and no concatenated copy (which doubled the memory a large body held).
  const sized = Number.isInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error) {
        req.resume(); // discard the rest; the response closes the connection
        reject(error);
      } else if (sized) resolve(size === sized.length ? sized : sized.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      if (sized && size + chunk.length > sized.length) return finish(badRequest('request body is longer than its Content-Length'));
      if (size + chunk.length > limits.maxBodyBytes) return finish(payloadTooLarge(`request body exceeds the limit of ${limits.maxBodyBytes} bytes`));
      try {
        counter?.feed(chunk);
      } catch (error) {
        return finish(error);
      }
      if (sized) chunk.copy(sized, size);
      else chunks.push(chunk);
      size += chunk.length;
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

/** HTTP "deflate" is zlib-wrapped, but some clients send raw deflate: a zlib header says which. */
function isZlibWrapped(body: Buffer): boolean {
  return body.length >= 2 && (body[0]! & 0x0f) === 8 && (body[0]! * 256 + body[1]!) % 31 === 0;
}

/**
 * Inflates as a stream, stopping as soon as the output passes `limit` or `counter` passes
 * its limit, so neither a bomb nor a body of countless small records is inflated whole.
 */
function decompress(body: Buffer, encoding: string, limit: number, counter: RecordCounter | undefined): Promise<Buffer> {
  const inflater = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : isZlibWrapped(body) ? createInflate() : createInflateRaw();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: unknown) => {
      inflater.destroy();
      reject(error);
    };
    inflater.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(payloadTooLarge(`decompressed body exceeds the limit of ${limit} bytes`));
      try {
        counter?.feed(chunk);
      } catch (error) {
        return fail(error);
      }
      chunks.push(chunk);
    });
    inflater.on('end', () => resolve(Buffer.concat(chunks, size)));
    inflater.on('error', (error) => fail(badRequest(`cannot decompress the ${encoding} body: ${error.message}`)));
    inflater.end(body);
  });
}

/**
 * The body, decompressed per Content-Encoding, within the limits. An uncompressed body is
 * fed to `counter` as it arrives, so a request with too many records is refused (the
 * counter's error) as soon as it passes the limit, without reading the rest.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits, counter?: RecordCounter): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding)) {
    throw unsupportedMediaType(`unsupported Content-Encoding "${encoding.slice(0, 40)}" (use gzip, deflate or none)`);
  }
  // An uncompressed body is already its decompressed size: stop reading it at that limit.
  const raw = await readRaw(req, encoding === 'identity' ? { ...limits, maxBodyBytes: Math.min(limits.maxBodyBytes, limits.maxDecompressedBytes) } : limits, encoding === 'identity' ? counter : undefined);
  if (encoding === 'identity') {
    if (raw.length > limits.maxDecompressedBytes) throw payloadTooLarge(`request body exceeds the limit of ${limits.maxDecompressedBytes} bytes`);
    return raw;
  }
  return decompress(raw, encoding, limits.maxDecompressedBytes, counter);
}
