/**
 * /api/v1/destinations: downstream OTLP receivers, admin scope. Header values never leave
 * the sidecar: every response shows them as "***" (send "***" back to keep a value).
 */
import { Hono } from 'hono';
import type { ExportEntry, ExportService } from '../export/export-service.js';
import { maskedHeaders } from '../export/destination.js';
import { badRequest, notFound } from '../errors.js';
import type { ApiEnv } from './env.js';

async function view(exports: ExportService, entry: ExportEntry) {
  const d = entry.destination;
  const status = await exports.status(entry);
  return {
    id: d.id,
    name: d.name,
    endpoint: d.endpoint,
    headers: maskedHeaders(d.headers),
    max_batch_size: d.maxBatchSize,
    encoding: d.encoding,
    compression: d.compression,
    tenant: d.tenant ?? null,
    event_types: d.eventTypes ?? null,
    enabled: d.enabled,
    source: entry.source,
    created_at: entry.createdAt ?? null,
    status: {
      state: status.state,
      last_error: status.last_error,
      last_warning: status.last_warning,
      last_success_at: status.last_success_at,
      exported_records: status.exported_records,
      lag_records: status.lag_records,
    },
  };
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw badRequest('the body must be a JSON object');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function destinationRoutes(exports: ExportService) {
  const app = new Hono<ApiEnv>();
  /** The destination, or a 404 (rendered by the API's one error handler). */
  const find = (id: string) => {
    const entry = exports.get(id);
    if (!entry) throw notFound('no such destination');
    return entry;
  };

  app.get('/', async (c) => c.json({ destinations: await Promise.all(exports.list().map((e) => view(exports, e))) }));

  app.post('/', async (c) => {
    const entry = await exports.create(await jsonBody(c.req.raw));
    return c.json(await view(exports, entry), 201);
  });

  app.get('/:id', async (c) => {
    return c.json(await view(exports, find(c.req.param('id'))));
  });

  app.patch('/:id', async (c) => {
    find(c.req.param('id'));
    const entry = await exports.update(c.req.param('id'), await jsonBody(c.req.raw));
    return c.json(await view(exports, entry));
  });

  app.delete('/:id', async (c) => {
    find(c.req.param('id'));
    await exports.remove(c.req.param('id'));
    return c.body(null, 204);
  });

  app.post('/:id/test', async (c) => {
    const entry = find(c.req.param('id'));
    const outcome = await exports.test(entry);
    return c.json({
      ok: outcome.kind === 'ok',
      http_status: outcome.status ?? null,
      message: outcome.kind === 'ok' ? (outcome.rejected > 0 ? outcome.message : 'accepted') : outcome.message,
    });
  });

  return app;
}
