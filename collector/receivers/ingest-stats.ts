import type { Metrics } from '../telemetry/metrics.js';
import type { RejectionReason } from '../../pipelines/otlp/values.js';

/** What the ingest path counts: records by outcome, rejections by reason, failed requests. */
export class IngestStats {
  constructor(private readonly metrics: Metrics) {}

  /** Rejections are labelled by their reason code (a small, fixed set), never by message text. */
  record(source: string, accepted: number, rejections: ReadonlyArray<{ reason: RejectionReason }>): void {
    if (accepted > 0) this.metrics.ingestRecords.inc({ source, outcome: 'accepted' }, accepted);
    if (rejections.length === 0) return;
    this.metrics.ingestRecords.inc({ source, outcome: 'rejected' }, rejections.length);
    for (const rejection of rejections) this.metrics.ingestRejections.inc({ source, reason: rejection.reason });
  }

  recordFailure(source: string, status: number): void {
    this.metrics.ingestFailedRequests.inc({ source, status: String(status) });
  }
}
