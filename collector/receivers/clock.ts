/** The current time in nanoseconds since the epoch, as an exact decimal string (µs resolution). */
export function nowNanos(): string {
  const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return `${micros}000`;
}
