/**
 * The benchmark's OTLP receiver, on a thread of its own so that decoding what it receives
 * never holds up the load generator's event loop: it decodes every request, as a SIEM
 * would, and counts the records in shared memory ([records, requests]).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { decodeExportLogsRequest } from '../collector/receivers/otlp/protobuf-decoder.js';

const counters = new Int32Array((workerData as { counters: SharedArrayBuffer }).counters);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const request = decodeExportLogsRequest(gunzipSync(Buffer.concat(chunks)));
    let records = 0;
    for (const rl of request.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
    Atomics.add(counters, 0, records);
    Atomics.add(counters, 1, 1);
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
