import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, TokenVerifier } from '../collector/auth/tokens.js';
import { HttpError } from '../collector/errors.js';
import { silentLogger } from '../collector/log.js';
import { startSidecar, StartupError, type Sidecar } from '../collector/sidecar.js';
import { queryRows, startTestSidecar, tempDir, testConfig } from './support/sidecar.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

const INGEST = 'acme-ingest-token-0123456789';
const READER = 'reader-token-0123456789abcdef';
const UNBOUND = 'unbound-ingest-token-0123456';

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier([
    { token: INGEST, tenant: 'acme', scopes: ['ingest'] },
    { token: READER, tenant: undefined, scopes: ['read'] },
  ]);
  const statusOf = (header: string | undefined, scope: 'ingest' | 'read') => {
    try {
      verifier.authenticate(header, scope);
      return 200;
    } catch (error) {
      return (error as HttpError).status;
    }
  };

  it('accepts known tokens with the scope and returns their tenant', () => {
    expect(verifier.authenticate(`Bearer ${INGEST}`, 'ingest').tenant).toBe('acme');
    expect(verifier.authenticate(`bearer ${READER}`, 'read').tenant).toBeUndefined();
  });

  it('401 for missing, malformed or unknown tokens; 403 for a missing scope', () => {
    expect(statusOf(undefined, 'ingest')).toBe(401);
    expect(statusOf(`Basic ${INGEST}`, 'ingest')).toBe(401);
    expect(statusOf(`Bearer ${INGEST}x`, 'ingest')).toBe(401);
    expect(statusOf(`Bearer ${INGEST.slice(0, -1)}`, 'ingest')).toBe(401);
    expect(statusOf(`Bearer ${READER}`, 'ingest')).toBe(403);
  });

  it('never puts the token in an error', () => {
    let message = '';
    try {
      verifier.authenticate(`Bearer ${READER}`, 'ingest');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('lacks the "ingest" scope');
    expect(message).not.toContain(READER);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});

describe('authenticated ingest', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startTestSidecar({
      dataDir: tempDir(),
      tokens: [
        { token: INGEST, tenant: 'acme', scopes: ['ingest'] },
        { token: UNBOUND, scopes: ['ingest'] },
        { token: READER, scopes: ['read'] },
      ],
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  const send = (token: string | undefined, eventName: string) =>
    fetch(`${sidecar.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: encodeProtobuf(otlpRequest([{ eventName, attributes: { 'user.id': 'u', 'audit.tenant.id': 'globex' } }])),
    });

  it('401/403 store nothing; a tenant-bound token overrides the tenant in the data', async () => {
    expect((await send(undefined, 'auth.none')).status).toBe(401);
    expect((await send(READER, 'auth.reader')).status).toBe(403);
    expect((await send(INGEST, 'auth.bound')).status).toBe(200);
    expect((await send(UNBOUND, 'auth.unbound')).status).toBe(200);
    const rows = await queryRows<{ event_type: string; tenant_id: string }>(sidecar, 'SELECT event_type, tenant_id FROM audit.events ORDER BY event_type');
    expect(rows).toEqual([
      { event_type: 'auth.bound', tenant_id: 'acme' },
      { event_type: 'auth.unbound', tenant_id: 'globex' },
    ]);
  });
});

describe('binding without auth', () => {
  it('refuses to listen beyond loopback when no tokens are configured', async () => {
    const config = testConfig({ dataDir: tempDir(), http: { endpoint: '0.0.0.0:0' } });
    await expect(startSidecar(config, silentLogger)).rejects.toThrow(StartupError);
    await expect(startSidecar(config, silentLogger)).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without auth/);
  });
});
