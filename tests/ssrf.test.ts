/**
 * API-made destinations may not reach loopback, private, link-local, CGNAT or metadata
 * addresses, in any spelling, when saved or when connecting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../collector/sidecar.js';
import { isForbiddenAddress } from '../collector/export/ssrf.js';
import { Sender } from '../collector/export/sender.js';
import { destinationSchema, toDestination } from '../collector/export/destination.js';
import { startReceiver, type TestReceiver } from './support/otlp-receiver.js';
import { startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar;
let receiver: TestReceiver;

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir: tempDir(), api: {} });
  receiver = await startReceiver();
});
afterAll(async () => {
  await sidecar?.stop();
  await receiver?.close();
});

describe('forbidden addresses', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe',
    // IPv4 embedded in IPv6: compatible, 6to4, SIIT, Teredo, NAT64 (local-use), mapped public
    '::127.0.0.1', '::7f00:1', '2002:7f00:1::', '2002:808:808::1', '::ffff:0:7f00:1', '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '64:ff9b:1::7f00:1', '::ffff:8.8.8.8',
    // the rest of the registries: documentation, benchmarking, AS112, AMT, 6to4 relay, multicast, broadcast, reserved
    '192.0.2.1', '198.18.0.1', '192.31.196.1', '192.52.193.1', '192.88.99.1', '224.0.0.1', '255.255.255.255', '240.0.0.1',
    '2001:db8::1', '2001:2::1', '100::1', '3fff::1', '5f00::1', 'ff02::1', '4000::1',
  ])('%s is refused', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])('%s is allowed', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('saving a destination', () => {
  it.each([
    'http://127.0.0.1:4318/v1/logs',
    'http://localhost:4318/v1/logs',
    'http://2130706433/v1/logs',
    'http://0x7f000001/v1/logs',
    'http://0177.0.0.1/v1/logs',
    'http://[::1]/v1/logs',
    'http://[::ffff:127.0.0.1]/v1/logs',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.5/v1/logs',
    'http://192.168.0.10/v1/logs',
    'http://100.100.100.200/v1/logs',
    'http://[fd12:3456::1]/v1/logs',
    'http://[::127.0.0.1]/v1/logs',
    'http://[2002:7f00:1::]/v1/logs',
    'http://[::ffff:0:7f00:1]/v1/logs',
    'http://[2001::7f00:1]/v1/logs',
    'http://[64:ff9b::7f00:1]/v1/logs',
  ])('refuses %s', async (endpoint) => {
    const response = await fetch(`${sidecar.apiUrl}/api/v1/destinations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', endpoint }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { problems: Array<{ field: string; message: string }> };
    expect(body.problems[0]).toMatchObject({ field: 'endpoint' });
    expect(body.problems[0]!.message).toMatch(/special-purpose address|cannot resolve/);
  });
});

describe('connecting', () => {
  const destination = (endpoint: string) => toDestination('guarded', destinationSchema.parse({ endpoint, retry: {} }));

  it('refuses an IP-literal private address and a name that resolves to one, even if saved earlier', async () => {
    const literal = new Sender(destination(receiver.url), true);
    expect(await literal.send(Buffer.from(''), AbortSignal.timeout(5_000))).toMatchObject({ kind: 'fail', message: expect.stringContaining('127.0.0.1 is a loopback') });
    const named = new Sender(destination(receiver.url.replace('127.0.0.1', 'localhost')), true);
    expect(await named.send(Buffer.from(''), AbortSignal.timeout(5_000))).toMatchObject({ kind: 'retry', message: expect.stringContaining('forbidden address') });
    await Promise.all([literal.close(), named.close()]);
    expect(receiver.requests).toHaveLength(0);
  });

  it('does not follow redirects', async () => {
    const redirecting = await startReceiver(() => ({ status: 307, headers: { location: 'http://169.254.169.254/' } }));
    const sender = new Sender(destination(redirecting.url), false);
    expect(await sender.send(Buffer.from(''), AbortSignal.timeout(5_000))).toMatchObject({ kind: 'fail', status: 307, message: expect.stringContaining('redirects are not followed') });
    await sender.close();
    await redirecting.close();
  });
});
