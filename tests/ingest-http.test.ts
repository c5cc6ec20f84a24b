/**
 * POST /v1/logs over real HTTP: status codes and bodies for good and bad input, limits,
 * compression, and that a rejected request stores nothing.
 */
import { gzipSync, deflateSync, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import type { Sidecar } from '../collector/sidecar.js';
import { countRows, startTestSidecar, tempDir } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const root = ExportLogsServiceRequestType.root;
const StatusType = root.lookupType('google.rpc.Status');
const ResponseType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

let sidecar: Sidecar;
let url: string;

beforeAll(async () => {
  sidecar = await startTestSidecar({
    dataDir: tempDir(),
    http: { max_request_body_size: '256KiB', max_decompressed_body_size: '1MiB', max_records_per_request: 500 },
  });
  url = `${sidecar.ingestUrl}/v1/logs`;
});
afterAll(async () => {
  await sidecar?.stop();
});

function post(body: RequestInit['body'], headers: Record<string, string>, extra: RequestInit = {}) {
  return fetch(url, { method: 'POST', body, headers, ...extra });
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

async function expectNothingStoredBy(action: () => Promise<void>): Promise<void> {
  const before = await countRows(sidecar);
  await action();
  expect(await countRows(sidecar)).toBe(before);
  expect((await fetch(`${sidecar.ingestUrl}/healthz`)).status).toBe(200);
}

describe('accepted requests', () => {
  it('answers 200 with an empty ExportLogsServiceResponse in protobuf', async () => {
    const response = await post(encodeProtobuf(otlpRequest([{ eventName: 'a.create' }, { eventName: 'a.delete' }])), PROTO);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = ResponseType.toObject(ResponseType.decode(new Uint8Array(await response.arrayBuffer())));
    expect(decoded).toEqual({});
    expect(await countRows(sidecar, "event_type IN ('a.create', 'a.delete')")).toBe(2);
  });

  it('reports unusable records in partial_success and stores the rest (JSON)', async () => {
    const request = otlpRequest([{ eventName: 'b.ok', body: 'first' }, { eventName: '', attributes: {} }, { eventName: 'b.ok', body: 'second' }]);
    const response = await post(JSON.stringify(request), JSON_TYPE);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess.errorMessage).toContain('record 1: record has no recognisable event type');
    expect(await countRows(sidecar, "event_type = 'b.ok'")).toBe(2);
  });

  it('reports partial_success in protobuf too', async () => {
    const response = await post(encodeProtobuf(otlpRequest([{ eventName: '', attributes: {} }])), PROTO);
    const decoded = ResponseType.toObject(ResponseType.decode(new Uint8Array(await response.arrayBuffer())), { longs: String });
    expect(decoded.partialSuccess).toMatchObject({ rejectedLogRecords: '1' });
  });

  it.each([
    ['gzip', 'gzip', gzipSync],
    ['deflate', 'zlib', deflateSync],
    ['deflate', 'raw', deflateRawSync],
  ])('accepts Content-Encoding %s (%s)', async (encoding, variant, compress) => {
    const eventType = `c.${variant}`;
    const response = await post(compress(encodeProtobuf(otlpRequest([{ eventName: eventType }]))), { ...PROTO, 'content-encoding': encoding });
    expect(response.status).toBe(200);
    expect(await countRows(sidecar, `event_type = '${eventType}'`)).toBe(1);
  });

  it('coalesces concurrent requests into fewer log writes (group commit) and fewer inserts', async () => {
    const before = sidecar.store.commitStats.batches;
    const framesBefore = sidecar.store.log.allFrames.length;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(encodeProtobuf(otlpRequest([{ eventName: 'd.concurrent', body: `n${i}` }])), PROTO)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    // Requests that arrive while a write is in flight share the next write and its fsync.
    expect(sidecar.store.log.allFrames.length - framesBefore).toBeLessThan(20);
    expect(await countRows(sidecar, "event_type = 'd.concurrent'")).toBe(20);
    expect(sidecar.store.commitStats.batches - before).toBeLessThan(20);
  });
});

describe('rejected requests change nothing', () => {
  it('400 with a google.rpc.Status for garbage protobuf', async () => {
    await expectNothingStoredBy(async () => {
      const response = await post(Buffer.from('\x0a\xff\xff\xff\x0fgarbage'), PROTO);
      expect(response.status).toBe(400);
      const status = StatusType.toObject(StatusType.decode(new Uint8Array(await response.arrayBuffer())));
      expect(status.code).toBe(3);
      expect(status.message).toContain('invalid protobuf');
    });
  });

  it('400 with a JSON Status for truncated JSON', async () => {
    await expectNothingStoredBy(async () => {
      const response = await post(JSON.stringify(otlpRequest([{}])).slice(0, 80), JSON_TYPE);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 3, message: expect.stringContaining('invalid JSON') });
    });
  });

  it('400 for a corrupt gzip body', async () => {
    await expectNothingStoredBy(async () => {
      const response = await post(Buffer.from('not gzip at all'), { ...PROTO, 'content-encoding': 'gzip' });
      expect(response.status).toBe(400);
    });
  });

  it('415 for another content type or content encoding', async () => {
    await expectNothingStoredBy(async () => {
      expect((await post('hello', { 'content-type': 'text/plain' })).status).toBe(415);
      expect((await post(encodeProtobuf(otlpRequest([{}])), { ...PROTO, 'content-encoding': 'br' })).status).toBe(415);
    });
  });

  it('413 for a body over the size limit, declared or streamed', async () => {
    await expectNothingStoredBy(async () => {
      const big = encodeProtobuf(otlpRequest(Array.from({ length: 400 }, (_, i) => ({ body: 'x'.repeat(1000) + i }))));
      expect(big.length).toBeGreaterThan(256 * 1024);
      const declared = await post(big, PROTO);
      expect(declared.status).toBe(413);
      // Without Content-Length: the limit is enforced while the body streams in.
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.length; i += 16_384) controller.enqueue(big.subarray(i, i + 16_384));
          controller.close();
        },
      });
      const streamed = await post(stream, PROTO, { duplex: 'half' } as RequestInit);
      expect(streamed.status).toBe(413);
    });
  });

  it('413 for a gzip bomb, without inflating past the limit', async () => {
    await expectNothingStoredBy(async () => {
      const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(256 * 1024);
      const rssBefore = process.memoryUsage().rss;
      const response = await post(bomb, { ...PROTO, 'content-encoding': 'gzip' });
      expect(response.status).toBe(413);
      const status = StatusType.toObject(StatusType.decode(new Uint8Array(await response.arrayBuffer())));
      expect(status.message).toContain('decompressed body exceeds');
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    });
  });

  it('400 naming the byte offset for invalid UTF-8 in OTLP/JSON', async () => {
    await expectNothingStoredBy(async () => {
      const text = JSON.stringify(otlpRequest([{ body: 'caf#' }]));
      const at = Buffer.byteLength(text.slice(0, text.indexOf('#')));
      const body = Buffer.from(text);
      body[at] = 0xff;
      const response = await post(body, JSON_TYPE);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain(`byte offset ${at}`);
    });
  });

  it('413 for more records than a request may hold', async () => {
    await expectNothingStoredBy(async () => {
      const response = await post(JSON.stringify(otlpRequest(Array.from({ length: 501 }, () => ({})))), JSON_TYPE);
      expect(response.status).toBe(413);
    });
  });
});
