/**
 * POST /api/v1/query {sql}: an analyst's read-only SQL, checked by the engine's parser
 * (store/analyst-sql.ts) and run with time, memory and result-row limits (sql-runner.ts).
 * Admin scope, unbound tokens only: SQL cannot be confined to a tenant here (on a server,
 * see clickhouse/server/).
 */
import { Hono } from 'hono';
import { badRequest, forbidden } from '../errors.js';
import type { ApiEnv } from './env.js';
import { errorResponse } from '../http/error-response.js';
import type { SqlRunner } from './sql-runner.js';

export function queryRoute(runner: SqlRunner) {
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
      const rows = await runner.run(sql);
      return c.json({ rows, row_count: rows.length });
    } catch (error) {
      // Syntax 400, limits 422, timeouts 504, store down 503 + Retry-After: one mapping for every listener.
      return errorResponse(error).response;
    }
  });
  return app;
}
