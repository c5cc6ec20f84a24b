// Posts a file's bytes to a URL from its own process (as an attacker's client would) and
// prints {status, elapsedMs, text} as JSON: the time from the first byte sent to the answer.
// It prints "ready" once the file is read and sends when a line arrives on stdin, so the
// caller can leave the process's start-up out of what it measures.
// Usage: node post-file.mjs URL FILE CONTENT-TYPE [HEADERS-JSON]
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const [url, file, contentType, extraHeaders = '{}'] = process.argv.slice(2);
const body = readFileSync(file);
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  process.stdin.pause();
  const started = performance.now();
  let answered = false;
  const req = request(url, { method: 'POST', headers: { ...JSON.parse(extraHeaders), 'content-type': contentType, 'content-length': body.length } }, (res) => {
    answered = true;
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      process.stdout.write(JSON.stringify({ status: res.statusCode, elapsedMs: performance.now() - started, text: Buffer.concat(chunks).toString('latin1') }));
      process.exit(0);
    });
  });
  // The server may answer and close before the whole body is sent.
  req.on('error', (error) => {
    if (answered) return;
    process.stdout.write(JSON.stringify({ status: 0, elapsedMs: performance.now() - started, text: error.message }));
    process.exit(0);
  });
  req.end(body);
});
