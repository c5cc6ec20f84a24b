/**
 * POST /api/v1/query {sql}: an analyst's read-only SQL (ClickHouse readonly=1) with time,
 * memory and result-row limits, on a connection of its own. Admin scope, unbound tokens
 * only: SQL cannot be confined to a tenant here (on a server, see clickhouse/server/).
 */
import { Hono } from 'hono';
import type { ClickHouseClient } from '@clickhouse/client';
import { badRequest, forbidden } from '../errors.js';
import type { ApiEnv } from './env.js';
import { errorResponse } from '../http/error-response.js';

export interface SqlLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
  maxMemoryBytes: number;
}

export function queryRoute(client: ClickHouseClient, limits: SqlLimits) {
  const app = new Hono<ApiEnv>();
  app.post('/', async (c) => {
    if (c.get('principal').tenant !== undefined) throw forbidden('SQL needs a token not bound to a tenant');
    let sql: unknown;
    try {
      sql = ((await c.req.json()) as { sql?: unknown }).sql;
    } catch {
      throw badRequest('the body must be {"sql": "SELECT …"}');
    }
    if (typeof sql !== 'string' || sql.trim() === '') throw badRequest('the body must be {"sql": "SELECT …"}');
    try {
      const result = await client.query({
        query: sql.trim().replace(/;\s*$/, ''),
        format: 'JSONEachRow',
        clickhouse_settings: {
          max_execution_time: limits.maxExecutionSeconds,
          max_result_rows: String(limits.maxResultRows),
          result_overflow_mode: 'throw',
          max_memory_usage: String(limits.maxMemoryBytes),
          readonly: '1',
        },
      });
      const rows = await result.json<Record<string, unknown>>();
      return c.json({ rows, row_count: rows.length });
    } catch (error) {
      // Syntax 400, limits 422, timeouts 504, store down 503 + Retry-After: one mapping for every listener.
      return errorResponse(error).response;
    }
  });
  return app;
}
