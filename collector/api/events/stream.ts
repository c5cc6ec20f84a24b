/**
 * GET /api/v1/events/stream: newly stored events as Server-Sent Events, `id:` being the
 * event's ingest_seq, so `Last-Event-ID` resumes exactly after the last one received.
 * Rows are fetched from the store as the client can take them: a slow client holds no
 * more than one page in memory, and one that stops reading is disconnected.
 */
import type { EventStore } from '../../store/event-store.js';
import type { EventFilter } from './filter.js';
import { toApiEvent } from './format.js';
import type { EventQueries } from './queries.js';

export interface StreamOptions {
  heartbeatMs: number;
  /** Bytes queued for one client before it counts as not reading. */
  maxBufferedBytes: number;
  /** How long a client may not read before it is disconnected. */
  slowClientMs: number;
}

const PAGE = 500;
/** Recently sent events remembered per client, to drop a resent copy not merged away yet. */
const RECENT = 10_000;

export function eventStream(
  queries: EventQueries,
  store: EventStore,
  collectorId: string,
  filter: EventFilter,
  startAfter: number,
  options: StreamOptions,
  /** Drops the client's connection (the stream alone cannot: its queue waits for the client). */
  disconnect: () => void,
): ReadableStream<Uint8Array> {
  let position = startAfter;
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => wake?.();
  const unsubscribe = store.onCommit(notify);
  const encoder = new TextEncoder();
  let recent = new Set<string>();
  /** True the first time an event (tenant, time, id) is seen by this client. */
  const firstSighting = (row: Record<string, unknown>): boolean => {
    const key = `${String(row.tenant_id)}\u0000${String(row.occurred_at)}\u0000${String(row.event_id)}`;
    if (recent.has(key)) return false;
    if (recent.size >= RECENT) recent = new Set();
    recent.add(key);
    return true;
  };

  return new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        controller.enqueue(encoder.encode(`retry: 2000\n: streaming events after ${position}\n\n`));
        let lastWrite = Date.now();
        let slowSince: number | undefined;
        while (!closed) {
          if ((controller.desiredSize ?? 0) <= 0) {
            slowSince ??= Date.now();
            if (Date.now() - slowSince > options.slowClientMs) {
              closed = true;
              disconnect();
              break;
            }
          } else {
            slowSince = undefined;
            const through = store.committedSeq;
            const rows = through > position ? await queries.after(collectorId, position, through, filter, PAGE) : [];
            for (const row of rows) {
              if (firstSighting(row)) {
                controller.enqueue(encoder.encode(`id: ${row.ingest_seq}\nevent: audit\ndata: ${JSON.stringify(toApiEvent(row))}\n\n`));
              }
              position = Number(row.ingest_seq);
            }
            // Rows this filter skips still move the position forward.
            if (rows.length < PAGE) position = Math.max(position, through);
            if (rows.length > 0) lastWrite = Date.now();
            if (rows.length === PAGE) continue;
          }
          if (Date.now() - lastWrite >= options.heartbeatMs) {
            controller.enqueue(encoder.encode(': heartbeat\n\n'));
            lastWrite = Date.now();
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.min(options.heartbeatMs, 1_000));
            function done() {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
        unsubscribe();
      },
      cancel() {
        closed = true;
        wake?.();
        unsubscribe();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.maxBufferedBytes }),
  );
}
