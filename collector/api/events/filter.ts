/**
 * The filters of GET /api/v1/events (and export, stream): parsed and validated from query
 * parameters into a WHERE clause made only of fixed fragments, every value a ClickHouse
 * query parameter. A tenant-bound token is always confined to its tenant.
 */
import { badRequest } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import { timestampToNanos } from '../../../pipelines/normalize/time.js';
import { InvalidValueError } from '../../../pipelines/otlp/values.js';

export interface EventFilter {
  /** The token's tenant: always applied. */
  tenant: string | undefined;
  /** tenant_id asked for: narrows an unbound token; for a bound one another tenant finds nothing. */
  requestedTenant: string | undefined;
  eventType: string | undefined;
  action: string | undefined;
  actor: string | undefined;
  resourceType: string | undefined;
  resourceId: string | undefined;
  projectId: string | undefined;
  teamId: string | undefined;
  outcome: string | undefined;
  /** Nanoseconds since the epoch; from inclusive, to exclusive. */
  from: string | undefined;
  to: string | undefined;
  q: string | undefined;
  /** Only this source; without it the sidecar's own events (source `self`) are left out. */
  source: string | undefined;
}

export interface Where {
  sql: string;
  params: Record<string, unknown>;
}

const MAX_PARAM_LENGTH = 1024;


/** Values of the enum filters (the schema's LowCardinality enums). */
const OUTCOMES = ['success', 'failure', 'unknown'];

/** A misspelt filter would silently match everything: every parameter must be one the route reads. */
export function rejectUnknownParams(params: URLSearchParams, routeParams: readonly string[] = []): void {
  const known = new Set<string>([...FILTER_PARAMS, ...routeParams]);
  const unknown = [...new Set(params.keys())].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw badRequest(`unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n.slice(0, 64)}"`).join(', ')} (accepted: ${[...known].join(', ')})`);
  }
}

function oneOf(params: URLSearchParams, name: string, allowed: readonly string[]): string | undefined {
  const value = text(params, name);
  if (value !== undefined && !allowed.includes(value)) throw badRequest(`${name} must be one of ${allowed.join(', ')}, got "${value.slice(0, 64)}"`);
  return value;
}

function text(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > MAX_PARAM_LENGTH) throw badRequest(`${name} is longer than ${MAX_PARAM_LENGTH} characters`);
  return value;
}

function time(params: URLSearchParams, name: string): string | undefined {
  const value = text(params, name);
  if (value === undefined) return undefined;
  try {
    return timestampToNanos(value, name);
  } catch (error) {
    if (error instanceof InvalidValueError) throw badRequest(error.message);
    throw error;
  }
}

export function parseFilter(params: URLSearchParams, principal: Principal): EventFilter {
  return {
    tenant: principal.tenant,
    requestedTenant: text(params, 'tenant_id'),
    eventType: text(params, 'event_type'),
    action: text(params, 'action'),
    actor: text(params, 'actor'),
    resourceType: text(params, 'resource_type'),
    resourceId: text(params, 'resource_id'),
    projectId: text(params, 'project_id'),
    teamId: text(params, 'team_id'),
    outcome: oneOf(params, 'outcome', OUTCOMES),
    from: time(params, 'from'),
    to: time(params, 'to'),
    q: text(params, 'q'),
    source: text(params, 'source'),
  };
}

/** The WHERE clause for a filter (no user text in the SQL, only parameters). */
export function whereOf(filter: EventFilter): Where {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  const add = (sql: string, name: string, value: unknown) => {
    parts.push(sql);
    params[name] = value;
  };
  if (filter.tenant !== undefined) add('tenant_id = {tenant:String}', 'tenant', filter.tenant);
  if (filter.requestedTenant !== undefined) add('tenant_id = {requested_tenant:String}', 'requested_tenant', filter.requestedTenant);
  if (filter.eventType !== undefined) add('event_type = {event_type:String}', 'event_type', filter.eventType);
  if (filter.action !== undefined) add('action = {action:String}', 'action', filter.action);
  if (filter.actor !== undefined) add('(actor_id = {actor:String} OR actor_email = {actor:String})', 'actor', filter.actor);
  if (filter.resourceType !== undefined) add('resource_type = {resource_type:String}', 'resource_type', filter.resourceType);
  if (filter.resourceId !== undefined) add('resource_id = {resource_id:String}', 'resource_id', filter.resourceId);
  if (filter.projectId !== undefined) add('project_id = {project_id:String}', 'project_id', filter.projectId);
  if (filter.teamId !== undefined) add('team_id = {team_id:String}', 'team_id', filter.teamId);
  if (filter.outcome !== undefined) add('outcome = {outcome:String}', 'outcome', filter.outcome);
  if (filter.from !== undefined) add('occurred_at >= fromUnixTimestamp64Nano({from:Int64})', 'from', filter.from);
  if (filter.to !== undefined) add('occurred_at < fromUnixTimestamp64Nano({to:Int64})', 'to', filter.to);
  // Reading the trail records reads (source self): left out unless asked for, so the next page does not change.
  if (filter.source !== undefined) add('source = {source:String}', 'source', filter.source);
  else parts.push("source != 'self'");
  if (filter.q !== undefined) {
    add(
      `(positionCaseInsensitiveUTF8(message, {q:String}) > 0 OR positionCaseInsensitiveUTF8(metadata, {q:String}) > 0
        OR positionCaseInsensitiveUTF8(actor_id, {q:String}) > 0 OR positionCaseInsensitiveUTF8(actor_name, {q:String}) > 0
        OR positionCaseInsensitiveUTF8(actor_email, {q:String}) > 0)`,
      'q',
      filter.q,
    );
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}

/** The query parameters parseFilter reads (also the filter fields of an export job's body); each route adds its own. */
export const FILTER_PARAMS = ['tenant_id', 'event_type', 'action', 'actor', 'resource_type', 'resource_id', 'project_id', 'team_id', 'outcome', 'source', 'from', 'to', 'q'] as const;
