/**
 * POST /api/v1/exports: the body checked into a job's name, format, filters and time range.
 * The range must lie within max_age of now and span at most max_window; a request outside
 * them is a 400 that says which limit it broke.
 */
import type { Principal } from '../../auth/tokens.js';
import { badRequest } from '../../errors.js';
import { isExportFormat, type ExportFormat } from '../events/export-body.js';
import { FILTER_PARAMS, parseFilter, type EventFilter } from '../events/filter.js';

export interface ExportLimits {
  maxAgeMs: number;
  maxWindowMs: number;
}

export interface JobRequest {
  name: string;
  format: ExportFormat;
  filters: Record<string, string>;
  from: string;
  to: string;
}

const MS_NS = 1_000_000n;
const DAY_MS = 86_400_000;

const days = (ms: number) => `${+(ms / DAY_MS).toFixed(2)} days`;

/** Nanoseconds since the epoch -> RFC 3339 in UTC with nanoseconds. */
export function nanosToRfc3339(nanos: bigint): string {
  const iso = new Date(Number(nanos / MS_NS)).toISOString();
  return `${iso.slice(0, 19)}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export function parseJobRequest(body: Record<string, unknown>, principal: Principal, limits: ExportLimits, nowMs = Date.now()): JobRequest {
  const format = body.format;
  if (!isExportFormat(format)) throw badRequest('format must be csv, json or ndjson');
  const name = body.name === undefined ? `export ${new Date(nowMs).toISOString().slice(0, 16).replace('T', ' ')}` : body.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) throw badRequest('name must be 1 to 100 characters');
  const source = body.filters !== undefined && typeof body.filters === 'object' && body.filters !== null ? { ...(body.filters as object), ...body } : body;
  const params = new URLSearchParams();
  for (const key of FILTER_PARAMS) {
    const value = (source as Record<string, unknown>)[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string' && typeof value !== 'number') throw badRequest(`${key} must be a string`);
    params.set(key, String(value));
  }
  const filter: EventFilter = parseFilter(params, principal);
  const now = BigInt(nowMs) * MS_NS;
  const oldest = now - BigInt(limits.maxAgeMs) * MS_NS;
  const window = BigInt(limits.maxWindowMs) * MS_NS;
  const to = filter.to !== undefined ? BigInt(filter.to) : now;
  let from = filter.from !== undefined ? BigInt(filter.from) : to - window;
  if (filter.from === undefined && from < oldest) from = oldest;
  if (from < oldest) throw badRequest(`from is older than max_age: data older than ${days(limits.maxAgeMs)} is not exported`);
  if (to <= from) throw badRequest('to must be later than from');
  if (to - from > window) throw badRequest(`an export covers at most ${days(limits.maxWindowMs)} (max_window); narrow from/to`);
  params.set('from', nanosToRfc3339(from));
  params.set('to', nanosToRfc3339(to));
  return { name: name.trim(), format, filters: Object.fromEntries(params), from: params.get('from')!, to: params.get('to')! };
}
