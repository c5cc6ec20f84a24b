/**
 * /api/v1/integrity: the public keys that sign checkpoints (read scope) and verification
 * of the store against them (admin; a tenant-bound token verifies its tenant's rows).
 * GET /api/v1/events/{id}/proof is mounted beside the events (read scope).
 */
import { createPublicKey } from 'node:crypto';
import { Hono } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import { badRequest, HttpError } from '../errors.js';
import { publicPem } from '../integrity/keys.js';
import { buildProof } from '../integrity/proof.js';
import { Verifier } from '../integrity/verify.js';
import type { EventStore } from '../store/event-store.js';
import { timestampToNanos } from '../../pipelines/normalize/time.js';
import type { ApiEnv } from './env.js';

export interface IntegrityRouteOptions {
  client: ClickHouseClient;
  database: string;
  collectorId: string;
}

function sealerOf(store: EventStore) {
  const sealer = store.sealer;
  if (!sealer) throw new HttpError(404, 'integrity is off (exporters.clickhouse.integrity.enabled: false)');
  return sealer;
}

function timeMs(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  try {
    return Number(BigInt(timestampToNanos(value, name)) / 1_000_000n);
  } catch {
    throw badRequest(`${name} must be RFC 3339 or epoch milliseconds`);
  }
}

export function integrityRoutes(store: EventStore, options: IntegrityRouteOptions) {
  const app = new Hono<ApiEnv>();
  app.get('/keys', (c) => {
    const sealer = sealerOf(store);
    const keys = [...sealer.publicKeys].map(([keyId, key]) => ({ key_id: keyId, algorithm: 'Ed25519', public_key: publicPem(key), active: keyId === sealer.activeKeyId }));
    return c.json({ keys, active_key_id: sealer.activeKeyId, public_key_pem: publicPem(createPublicKey(sealer.signingKey)) });
  });
  app.get('/verify', async (c) => {
    const sealer = sealerOf(store);
    const params = new URL(c.req.url).searchParams;
    const principal = c.get('principal');
    const requested = params.get('tenant') || undefined;
    if (principal.tenant !== undefined && requested !== undefined && requested !== principal.tenant) throw badRequest('this token verifies its own tenant only');
    const report = await new Verifier(options.client, options.database, {
      fromMs: timeMs(params, 'from'),
      toMs: timeMs(params, 'to'),
      tenant: principal.tenant ?? requested,
      publicKeys: sealer.publicKeys,
      // Rows the loader has taken but not sealed yet are pending, not injected.
      pending: { collectorId: options.collectorId, throughSeq: store.durableSeq },
    }).run();
    return c.json(report);
  });
  return app;
}

export function proofRoute(options: IntegrityRouteOptions) {
  const app = new Hono<ApiEnv>();
  app.get('/:id/proof', async (c) => {
    const proof = await buildProof(options.client, options.database, c.req.param('id'), c.get('principal').tenant);
    if (!proof) throw new HttpError(404, 'no sealed event with this id');
    return c.json(proof);
  });
  return app;
}
