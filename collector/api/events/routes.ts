/**
 * /api/v1/events: filtered pages, one event, streamed exports (CSV, JSON, NDJSON) and the
 * live tail. `read` scope; a tenant-bound token sees its tenant only, whatever it asks.
 */
import { Hono } from 'hono';
import type { EventStore } from '../../store/event-store.js';
import { badRequest, notFound } from '../../errors.js';
import type { ApiEnv } from '../env.js';
import { parseFilter, rejectUnknownParams, type EventFilter } from './filter.js';
import { toApiEvent } from './format.js';
import { EXPORT_CONTENT_TYPES, exportText, isExportFormat } from './export-body.js';
import { decodeCursor, encodeCursor, type EventQueries } from './queries.js';
import { eventStream, type StreamOptions } from './stream.js';

export interface EventRoutesOptions {
  collectorId: string;
  maxExportDays: number;
  stream: StreamOptions;
}

const DAY_NS = 86_400_000_000_000n;
export const EXPORT_PAGE = 5_000;

function limitOf(params: URLSearchParams): number {
  const raw = params.get('limit');
  if (raw === null || raw === '') return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw badRequest('limit must be an integer from 1 to 1000');
  return n;
}

/** The seed's export API: startTime (unix seconds) bounds the end, userFilter the actor. */
function exportFilter(params: URLSearchParams, filter: EventFilter, maxDays: number): EventFilter {
  const startTime = params.get('startTime');
  let to = filter.to;
  if (startTime !== null && startTime !== '') {
    if (!/^\d{1,12}$/.test(startTime)) throw badRequest('startTime must be unix seconds');
    to = `${startTime}000000000`;
  }
  const end = BigInt(to ?? `${Date.now()}000000`);
  const window = BigInt(maxDays) * DAY_NS;
  const from = filter.from !== undefined ? BigInt(filter.from) : end - window;
  if (end - from > window) throw badRequest(`an export covers at most ${maxDays} days; narrow from/to`);
  const userFilter = params.get('userFilter');
  return { ...filter, from: from.toString(), to: end.toString(), actor: userFilter || filter.actor };
}

export function eventRoutes(queries: EventQueries, store: EventStore, options: EventRoutesOptions) {
  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => {
    const params = new URL(c.req.url).searchParams;
    rejectUnknownParams(params, ['limit', 'cursor']);
    const filter = parseFilter(params, c.get('principal'));
    const cursorText = params.get('cursor');
    const cursor = cursorText ? decodeCursor(cursorText) : undefined;
    if (cursorText && !cursor) throw badRequest('cursor is not one this API returned');
    const page = await queries.page(filter, limitOf(params), cursor);
    return c.json({ events: page.rows.map(toApiEvent), next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  app.get('/export', (c) => {
    const params = new URL(c.req.url).searchParams;
    rejectUnknownParams(params, ['format', 'startTime', 'userFilter']);
    const format = params.get('format') ?? 'ndjson';
    if (!isExportFormat(format)) throw badRequest('format must be csv, json or ndjson');
    const filter = exportFilter(params, parseFilter(params, c.get('principal')), options.maxExportDays);
    const encoder = new TextEncoder();
    const chunks = exportText(queries, filter, format, EXPORT_PAGE);
    // Pulled page by page as the client reads.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    return c.body(body, 200, {
      'content-type': EXPORT_CONTENT_TYPES[format],
      'content-disposition': `attachment; filename="audit-events.${format}"`,
    });
  });

  app.get('/histogram', async (c) => {
    const params = new URL(c.req.url).searchParams;
    rejectUnknownParams(params, []);
    const filter = parseFilter(params, c.get('principal'));
    return c.json(await queries.histogram(filter));
  });

  app.get('/stream', (c) => {
    const params = new URL(c.req.url).searchParams;
    rejectUnknownParams(params, ['last_event_id']);
    const filter = parseFilter(params, c.get('principal'));
    const lastId = c.req.header('last-event-id') ?? params.get('last_event_id');
    if (lastId && !/^\d{1,19}$/.test(lastId)) throw badRequest('Last-Event-ID must be an id this stream sent');
    const start = lastId ? Number(lastId) : store.committedSeq;
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    const disconnect = () => outgoing?.destroy();
    return c.body(eventStream(queries, store, options.collectorId, filter, start, options.stream, disconnect), 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
  });

  app.get('/:id', async (c) => {
    const row = await queries.byId(c.req.param('id'), c.get('principal').tenant);
    if (!row) throw notFound('no such event');
    return c.json(toApiEvent(row));
  });

  return app;
}
