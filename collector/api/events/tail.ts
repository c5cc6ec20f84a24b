/**
 * The live tail's loop, shared by Server-Sent Events and WebSocket: rows committed after a
 * position (ingest_seq) that match a filter, fetched from the store as the client can
 * take them. A slow client holds no more than one page in memory, and one that stops
 * reading for `slowClientMs` is dropped.
 */
import type { EventStore } from '../../store/event-store.js';
import type { EventFilter } from './filter.js';
import type { EventQueries } from './queries.js';
import type { StoredRow } from './format.js';

export interface StreamOptions {
  heartbeatMs: number;
  /** Bytes queued for one client before it counts as not reading. */
  maxBufferedBytes: number;
  /** How long a client may not read before it is disconnected. */
  slowClientMs: number;
}

/** Where the tail's output goes. */
export interface TailSink {
  /** False while the client has more queued than it may. */
  ready(): boolean;
  send(row: StoredRow): void;
  heartbeat(): void;
  /** Drops a client that has not read for too long. */
  drop(): void;
}

export interface Tail {
  /** Resolves when the tail ends (closed, or the client dropped). */
  done: Promise<void>;
  close(): void;
}

const PAGE = 500;
/** Recently sent events remembered per client, to drop a resent copy not merged away yet. */
const RECENT = 10_000;

export function startTail(
  queries: EventQueries,
  store: EventStore,
  collectorId: string,
  filter: EventFilter,
  startAfter: number,
  options: StreamOptions,
  sink: TailSink,
): Tail {
  let position = startAfter;
  let closed = false;
  let wake: (() => void) | undefined;
  const unsubscribe = store.onCommit(() => wake?.());
  let recent = new Set<string>();
  /** True the first time an event (tenant, time, id) is seen by this client. */
  const firstSighting = (row: StoredRow): boolean => {
    const key = `${String(row.tenant_id)}\u0000${String(row.occurred_at)}\u0000${String(row.event_id)}`;
    if (recent.has(key)) return false;
    if (recent.size >= RECENT) recent = new Set();
    recent.add(key);
    return true;
  };

  const done = (async () => {
    let lastWrite = Date.now();
    let slowSince: number | undefined;
    try {
      while (!closed) {
        if (!sink.ready()) {
          slowSince ??= Date.now();
          if (Date.now() - slowSince > options.slowClientMs) {
            closed = true;
            sink.drop();
            break;
          }
        } else {
          slowSince = undefined;
          const through = store.committedSeq;
          const rows = through > position ? await queries.after(collectorId, position, through, filter, PAGE) : [];
          if (closed) break;
          for (const row of rows) {
            if (firstSighting(row)) sink.send(row);
            position = Number(row.ingest_seq);
          }
          // Rows this filter skips still move the position forward.
          if (rows.length < PAGE) position = Math.max(position, through);
          if (rows.length > 0) lastWrite = Date.now();
          if (rows.length === PAGE) continue;
        }
        if (Date.now() - lastWrite >= options.heartbeatMs) {
          sink.heartbeat();
          lastWrite = Date.now();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, Math.min(options.heartbeatMs, sink.ready() ? 1_000 : 100));
          function finish() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = finish;
        });
      }
    } finally {
      unsubscribe();
    }
  })();

  return {
    done,
    close() {
      closed = true;
      wake?.();
    },
  };
}
