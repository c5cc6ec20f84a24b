/**
 * The trail's own trail: every authenticated call of the API under /api/v1 (reads,
 * exports, SQL, destination changes, verification) becomes an audit event of the sidecar
 * itself, `source` = `self`, in the caller's tenant, with the token's name as actor and
 * the filters or SQL in metadata. It is stored like any event (ingest log, loader,
 * checkpoints). Never recorded: header values, tokens, destination bodies (they carry
 * receivers' secrets). /healthz, /readyz and /metrics are outside /api/v1.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AuditEvent, Action } from '../../schemas/audit-event.js';
import type { RetentionConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { EventStore } from '../store/event-store.js';
import { DEFAULT_TENANT } from '../../pipelines/normalize/event.js';
import { retentionDays } from '../../pipelines/normalize/retention.js';
import type { ApiEnv } from './env.js';

const VERBS: Record<string, Action> = { GET: 'read', HEAD: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };
/** Bodies worth keeping (the SQL, an export job's filters); never a destination's (headers are secrets). */
const BODY_AREAS = new Set(['query', 'exports']);
const MAX_BODY_CHARS = 16 * 1024;

export const SELF_SOURCE = 'self';

export function selfTrail(store: EventStore, retention: RetentionConfig, log: Logger): MiddlewareHandler<ApiEnv> {
  return async function recordAccess(c, next) {
    const url = new URL(c.req.url);
    const area = url.pathname.split('/')[3] ?? '';
    let body: string | undefined;
    if (BODY_AREAS.has(area) && c.req.method === 'POST') body = (await c.req.raw.clone().text()).slice(0, MAX_BODY_CHARS);
    await next();
    const principal = c.get('principal');
    if (!principal) return; // refused before authentication: no caller to record
    const action: Action = area === 'query' ? 'read' : (VERBS[c.req.method] ?? 'other');
    const metadata: Record<string, unknown> = { method: c.req.method, path: url.pathname, status: c.res.status, filters: Object.fromEntries(url.searchParams) };
    if (body !== undefined) {
      try {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        if (area === 'query') metadata.sql = parsed.sql;
        else metadata.request = parsed;
      } catch {
        metadata.body = body;
      }
    }
    const tenant = principal.tenant ?? DEFAULT_TENANT;
    const now = `${BigInt(Date.now()) * 1_000_000n}`;
    const event: AuditEvent = {
      event_id: randomUUID(),
      tenant_id: tenant,
      occurred_at: now,
      received_at: now,
      event_type: `audit_sidecar.${area || 'api'}.${area === 'query' ? 'query' : action}`,
      action,
      outcome: c.res.status < 400 ? 'success' : 'failure',
      actor_id: principal.name,
      actor_name: principal.name,
      actor_email: '',
      actor_type: 'api_key',
      client_ip: clientAddress(c.env),
      user_agent: c.req.header('user-agent') ?? '',
      team_id: '',
      project_id: '',
      resource_type: area,
      resource_id: url.pathname.split('/')[4] ?? '',
      resource_name: '',
      request_method: c.req.method,
      request_url: url.pathname + url.search,
      message: `${principal.name} ${c.req.method} ${url.pathname} (${c.res.status})`,
      changes: '{}',
      metadata: JSON.stringify(metadata),
      attributes: {},
      resource_attributes: {},
      service_name: 'audit-sidecar',
      severity_text: 'INFO',
      severity_number: 9,
      trace_id: '',
      span_id: '',
      source: SELF_SOURCE,
      raw: JSON.stringify(metadata),
      retention_days: retentionDays(tenant, retention, now),
    };
    try {
      await store.submit([event]);
    } catch (error) {
      log.warn('could not record an API call in the sidecar\'s own trail', { path: url.pathname, error: (error as Error).message });
    }
  };
}

function clientAddress(env: unknown): string {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? '';
}
