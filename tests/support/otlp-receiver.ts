/**
 * A real OTLP/HTTP logs receiver on 127.0.0.1 for export tests: decodes what it gets with
 * protobufjs (or JSON), records it, and answers as the test tells it to.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ExportLogsServiceRequestType } from '../../collector/receivers/otlp/codec.js';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  /** Log records in the order received, in OTLP/JSON-like form (camelCase, int64 as strings). */
  records: Array<Record<string, unknown>>;
  resources: Array<Record<string, unknown>>;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string };

export interface TestReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Every record accepted (answered 2xx), in order. */
  accepted: Array<Record<string, unknown>>;
  answer: (request: ReceivedRequest) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: TestReceiver['answer'] = () => ({ status: 200 })): Promise<TestReceiver> {
  const receiver = { requests: [], accepted: [], answer } as unknown as TestReceiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const decoded = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(body.toString('utf8')) as { resourceLogs: Array<Record<string, unknown>> })
        : (ExportLogsServiceRequestType.toObject(ExportLogsServiceRequestType.decode(body), { longs: String, bytes: String }) as {
            resourceLogs: Array<Record<string, unknown>>;
          });
      const records: Array<Record<string, unknown>> = [];
      const resources: Array<Record<string, unknown>> = [];
      for (const rl of decoded.resourceLogs ?? []) {
        resources.push(rl.resource as Record<string, unknown>);
        for (const sl of (rl.scopeLogs as Array<{ logRecords: Array<Record<string, unknown>> }>) ?? []) records.push(...(sl.logRecords ?? []));
      }
      const request: ReceivedRequest = { headers: req.headers, records, resources, at: Date.now() };
      receiver.requests.push(request);
      const reply = receiver.answer(request);
      if (reply.status >= 200 && reply.status < 300) receiver.accepted.push(...records);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
  receiver.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return receiver;
}

/** The string value of a record attribute. */
export function attr(record: Record<string, unknown>, key: string): string | undefined {
  const found = (record.attributes as Array<{ key: string; value: { stringValue?: string } }> | undefined)?.find((a) => a.key === key);
  return found?.value.stringValue;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
