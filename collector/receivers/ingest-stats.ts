/** Counters the ingest path keeps, for the log and (later) /metrics. */
export class IngestStats {
  readonly accepted = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly failedRequests = new Map<number, number>();

  recordAccepted(source: string, accepted: number, rejected: number): void {
    this.accepted.set(source, (this.accepted.get(source) ?? 0) + accepted);
    if (rejected > 0) this.rejected.set(source, (this.rejected.get(source) ?? 0) + rejected);
  }

  recordFailure(_source: string, status: number): void {
    this.failedRequests.set(status, (this.failedRequests.get(status) ?? 0) + 1);
  }
}
