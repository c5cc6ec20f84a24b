import type { Metrics } from '../telemetry/metrics.js';

/** What the ingest path counts: records by outcome and failed requests, as metrics. */
export class IngestStats {
  constructor(private readonly metrics: Metrics) {}

  recordAccepted(source: string, accepted: number, rejected: number): void {
    if (accepted > 0) this.metrics.ingestRecords.inc({ source, outcome: 'accepted' }, accepted);
    if (rejected > 0) this.metrics.ingestRecords.inc({ source, outcome: 'rejected' }, rejected);
  }

  recordFailure(source: string, status: number): void {
    this.metrics.ingestFailedRequests.inc({ source, status: String(status) });
  }
}
