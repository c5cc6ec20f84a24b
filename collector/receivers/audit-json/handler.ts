/**
 * POST /v1/audit and /v1/audit/{profile}: plain JSON audit events (an object, an array, or
 * NDJSON), mapped by a named or detected profile, committed before the answer
 * {"accepted", "rejected", "errors": [{"index", "error"}]}.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { AuditEvent } from '../../../schemas/audit-event.js';
import { isObject } from '../../../pipelines/json/fields.js';
import { exceededLimit, type JsonLimits } from '../../../pipelines/json/limits.js';
import { JsonItemCounter, NdjsonLineCounter } from '../../../pipelines/json/count-items.js';
import type { ProfileRegistry } from '../../../pipelines/json/registry.js';
import type { RetentionPolicy } from '../../../pipelines/normalize/retention.js';
import type { RejectionReason } from '../../../pipelines/otlp/values.js';
import type { TokenVerifier } from '../../auth/tokens.js';
import { payloadTooLarge, unsupportedMediaType } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { EventStore } from '../../store/event-store.js';
import { nowNanos } from '../clock.js';
import { errorResponse } from '../../http/error-response.js';
import { RecordLimitError } from '../record-limit.js';
import type { IngestStats } from '../ingest-stats.js';
import { readBody, type BodyLimits } from '../read-body.js';
import { parseAuditBody, type BodyKind } from './parse-body.js';

export interface AuditJsonDeps {
  store: EventStore;
  auth: TokenVerifier;
  profiles: ProfileRegistry;
  limits: BodyLimits & JsonLimits & { maxRecordsPerRequest: number };
  retention: RetentionPolicy;
  stats: IngestStats;
  log: Logger;
}

const BODY_KINDS: Record<string, BodyKind> = {
  'application/json': 'json',
  'application/cloudevents+json': 'json',
  'application/cloudevents-batch+json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

const ACCEPTED_TYPES = Object.keys(BODY_KINDS).join(', ');

interface ItemError {
  index: number;
  error: string;
  /** For metrics; not part of the answer. */
  reason: RejectionReason;
}

/** How many per-item errors a response lists; the count covers them all. */
const MAX_LISTED_ERRORS = 100;

export function auditJsonHandler(deps: AuditJsonDeps) {
  return async function auditJson(c: Context<{ Bindings: { incoming: IncomingMessage } }>): Promise<Response> {
    try {
      const principal = deps.auth.authenticate(c.req.header('authorization'), 'ingest');
      const profileName = c.req.param('profile');
      const profile = profileName === undefined ? undefined : deps.profiles.get(profileName);
      if (profileName !== undefined && !profile) {
        return c.json({ error: `unknown profile "${profileName.slice(0, 64)}"`, reason: 'not_found', profiles: deps.profiles.names }, 404);
      }
      const kind = BODY_KINDS[(c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()];
      if (!kind) throw unsupportedMediaType(`Content-Type must be one of ${ACCEPTED_TYPES}`);
      const limit = deps.limits.maxRecordsPerRequest;
      const counter = kind === 'ndjson' ? new NdjsonLineCounter(limit) : new JsonItemCounter(limit, { topLevel: true });
      const body = await readBody(c.env.incoming, deps.limits, counter).catch(tooManyRecords(limit));
      const items = parseRecords(body, kind, limit);

      const ctx = { tenantOverride: principal.tenant, receivedAtNanos: nowNanos(), retention: deps.retention };
      const events: AuditEvent[] = [];
      const errors: ItemError[] = [];
      for (const item of items) {
        if (item.error !== undefined) {
          errors.push({ index: item.index, error: item.error, reason: 'malformed' });
          continue;
        }
        if (!isObject(item.value)) {
          errors.push({ index: item.index, error: `expected a JSON object, got ${Array.isArray(item.value) ? 'an array' : typeof item.value === 'object' ? 'null' : `a ${typeof item.value}`}`, reason: 'malformed' });
          continue;
        }
        const exceeded = exceededLimit(item.value, deps.limits);
        if (exceeded) {
          errors.push({ index: item.index, error: exceeded, reason: 'over_limit' });
          continue;
        }
        const result = deps.profiles.normalize(item.value, profile, ctx);
        if (result.ok) events.push(result.event);
        else errors.push({ index: item.index, error: result.error, reason: result.reason });
      }
      const listed = errors.slice(0, MAX_LISTED_ERRORS).map(({ index, error }) => ({ index, error }));
      const summary = { accepted: events.length, rejected: errors.length, errors: listed };
      if (events.length === 0) {
        deps.stats.record('json', 0, errors);
        return c.json({ error: 'nothing in the body is usable', reason: 'invalid_record', ...summary }, 400);
      }
      await deps.store.submit(events);
      // Counted once stored, as for OTLP: a failed commit is counted as a failure instead.
      deps.stats.record('json', summary.accepted, errors);
      return c.json(summary, 200);
    } catch (error) {
      const { response, httpError } = errorResponse(error);
      deps.stats.recordFailure('json', httpError.status);
      if (httpError.status >= 500) deps.log.warn('ingest request failed', { path: c.req.path, status: httpError.status, reason: httpError.reason, error: httpError.message });
      return response;
    }
  };
}

const tooManyRecords = (limit: number) => (error: unknown): never => {
  if (error instanceof RecordLimitError) throw payloadTooLarge(`more than ${limit} records in the request (the limit per request)`);
  throw error;
};

function parseRecords(body: Buffer, kind: BodyKind, maxRecords: number) {
  try {
    return parseAuditBody(body, kind, maxRecords);
  } catch (error) {
    return tooManyRecords(maxRecords)(error);
  }
}
