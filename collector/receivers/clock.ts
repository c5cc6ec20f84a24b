/**
 * The current wall-clock time in nanoseconds since the epoch, as an exact decimal string.
 * Millisecond resolution: a monotonic clock would drift from the wall clock as NTP adjusts
 * it, and ingest order is kept by ingest_seq anyway.
 */
export function nowNanos(): string {
  return `${Date.now()}000000`;
}
