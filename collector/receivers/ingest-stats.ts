import type { Metrics } from '../telemetry/metrics.js';

/** A rejection message -> a reason label from a small, fixed set (metric labels must stay few). */
const REASONS: ReadonlyArray<[RegExp, string]> = [
  [/no recognisable event type/, 'no_event_type_or_actor'],
  [/retention|after 2106/, 'outside_retention'],
  [/nested deeper|longer than/, 'over_limit'],
  [/not JSON|expected a JSON object|malformed|must be an array/, 'malformed'],
  [/cannot tell the format/, 'unknown_format'],
  [/must be|not an integer|negative timestamp|hex characters|bytes/, 'invalid_value'],
];

export function rejectionReason(message: string): string {
  return REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? 'other';
}

/** What the ingest path counts: records by outcome, rejections by reason, failed requests. */
export class IngestStats {
  constructor(private readonly metrics: Metrics) {}

  record(source: string, accepted: number, rejections: ReadonlyArray<{ error: string }>): void {
    if (accepted > 0) this.metrics.ingestRecords.inc({ source, outcome: 'accepted' }, accepted);
    if (rejections.length === 0) return;
    this.metrics.ingestRecords.inc({ source, outcome: 'rejected' }, rejections.length);
    for (const rejection of rejections) this.metrics.ingestRejections.inc({ source, reason: rejectionReason(rejection.error) });
  }

  recordFailure(source: string, status: number): void {
    this.metrics.ingestFailedRequests.inc({ source, status: String(status) });
  }
}
