/**
 * GET /api/v1/events/stream: newly stored events as Server-Sent Events, `id:` being the
 * event's ingest_seq, so `Last-Event-ID` resumes exactly after the last one received.
 * The loop itself (paging, backpressure, dropping a slow client) is in tail.ts.
 */
import type { EventStore } from '../../store/event-store.js';
import type { EventFilter } from './filter.js';
import { toApiEvent } from './format.js';
import type { EventQueries } from './queries.js';
import { startTail, type StreamOptions, type Tail } from './tail.js';

export type { StreamOptions } from './tail.js';

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
  const encoder = new TextEncoder();
  let tail: Tail | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(`retry: 2000\n: streaming events after ${startAfter}\n\n`));
        tail = startTail(queries, store, collectorId, filter, startAfter, options, {
          ready: () => (controller.desiredSize ?? 0) > 0,
          send: (row) => controller.enqueue(encoder.encode(`id: ${row.ingest_seq}\nevent: audit\ndata: ${JSON.stringify(toApiEvent(row))}\n\n`)),
          heartbeat: () => controller.enqueue(encoder.encode(': heartbeat\n\n')),
          drop: disconnect,
        });
      },
      cancel() {
        tail?.close();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.maxBufferedBytes }),
  );
}
