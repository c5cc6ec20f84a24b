/**
 * Sends one encoded batch to a destination with undici (keep-alive pool, connect and
 * request timeouts, no redirects, the answer read up to a cap) and classifies the answer
 * the way the OTLP specification says a client should.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Agent, request } from 'undici';
import type { Destination } from './destination.js';
import { ExportLogsServiceRequestType } from '../receivers/otlp/codec.js';
import { isForbiddenAddress, publicOnlyLookup } from './ssrf.js';
import { isIP } from 'node:net';

export type SendOutcome =
  | { kind: 'ok'; status: number; rejected: number; message: string }
  | { kind: 'retry'; status: number | undefined; retryAfterMs: number | undefined; message: string }
  | { kind: 'too_large'; status: number; message: string }
  | { kind: 'fail'; status: number | undefined; message: string };

const gzipAsync = promisify(gzip);

const RETRYABLE = new Set([429, 502, 503, 504]);
/** Enough of an answer to read partial_success or an error message. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const ResponseType = ExportLogsServiceRequestType.root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

/** Retry-After as seconds or an HTTP date -> milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

async function readCapped(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > MAX_RESPONSE_BYTES) {
      chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}

function partialSuccess(body: Buffer, contentType: string): { rejected: number; message: string } {
  if (body.length === 0) return { rejected: 0, message: '' };
  try {
    const decoded = contentType.includes('json')
      ? (JSON.parse(body.toString('utf8')) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } })
      : (ResponseType.toObject(ResponseType.decode(body), { longs: String }) as { partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string } });
    return { rejected: Number(decoded.partialSuccess?.rejectedLogRecords ?? 0), message: decoded.partialSuccess?.errorMessage ?? '' };
  } catch {
    return { rejected: 0, message: '' };
  }
}

export class Sender {
  private readonly agent: Agent;

  /**
   * `publicOnly`: refuse loopback, private, link-local and metadata addresses on every
   * connection (destinations made through the API, unless allowed by config).
   */
  constructor(
    private readonly destination: Destination,
    private readonly publicOnly = false,
  ) {
    this.agent = new Agent({
      connect: { timeout: destination.timeoutMs, ...(publicOnly ? { lookup: publicOnlyLookup } : {}) },
      headersTimeout: destination.timeoutMs,
      bodyTimeout: destination.timeoutMs,
      keepAliveTimeout: 30_000,
      connections: 4,
    });
  }

  /** The body as sent: gzip (off the main thread) unless the destination turned it off. */
  async compress(encoded: Buffer): Promise<Buffer> {
    return this.destination.compression === 'gzip' ? gzipAsync(encoded) : encoded;
  }

  async send(encoded: Buffer, signal: AbortSignal): Promise<SendOutcome> {
    return this.sendCompressed(await this.compress(encoded), signal);
  }

  /** Sends a body made by compress(). */
  async sendCompressed(body: Buffer, signal: AbortSignal): Promise<SendOutcome> {
    const d = this.destination;
    if (this.publicOnly) {
      // An IP-literal host is never looked up, so the lookup guard cannot see it.
      const host = new URL(d.endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host) && isForbiddenAddress(host)) return { kind: 'fail', status: undefined, message: `${host} is a loopback, private, link-local, metadata or other special-purpose address` };
    }
    const headers: Record<string, string> = {
      ...d.headers,
      'content-type': d.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      'user-agent': 'audit-sidecar',
    };
    if (d.compression === 'gzip') headers['content-encoding'] = 'gzip';
    let response;
    try {
      response = await request(d.endpoint, { method: 'POST', headers, body, dispatcher: this.agent, signal });
    } catch (error) {
      return { kind: 'retry', status: undefined, retryAfterMs: undefined, message: `cannot reach the receiver: ${(error as Error).message}` };
    }
    const answer = await readCapped(response.body).catch(() => Buffer.alloc(0));
    const status = response.statusCode;
    const contentType = String(response.headers['content-type'] ?? '');
    if (status >= 200 && status < 300) return { kind: 'ok', status, ...partialSuccess(answer, contentType) };
    const detail = answer.toString('utf8', 0, Math.min(answer.length, 300)).replace(/\s+/g, ' ').trim();
    const message = `receiver answered ${status}${detail && !/^[\x00-\x08]/.test(detail) ? `: ${detail}` : ''}`;
    if (RETRYABLE.has(status)) return { kind: 'retry', status, retryAfterMs: parseRetryAfter(response.headers['retry-after']), message };
    if (status === 413) return { kind: 'too_large', status, message };
    if (status >= 300 && status < 400) return { kind: 'fail', status, message: `receiver answered ${status}; redirects are not followed` };
    return { kind: 'fail', status, message };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
