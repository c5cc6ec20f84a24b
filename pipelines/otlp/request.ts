/**
 * A whole ExportLogsServiceRequest -> audit events plus the records that could not be
 * normalized (by their position in the request, counting across resources and scopes).
 */
import type { AuditEvent } from '../../schemas/audit-event.js';
import type { ExportLogsServiceRequest } from '../../schemas/otlp.js';
import { normalizeLogRecord, resourceContext, type IngestContext, type ResourceContext } from './log-record.js';
import type { RejectionReason } from './values.js';

export interface Rejection {
  index: number;
  error: string;
  reason: RejectionReason;
}

export interface NormalizedBatch {
  events: AuditEvent[];
  /** Per event, its record's bytes as received when export may send them unchanged. */
  received: Array<Uint8Array | undefined>;
  rejected: Rejection[];
}

export function countLogRecords(request: ExportLogsServiceRequest): number {
  let n = 0;
  for (const rl of request.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

export function normalizeExportRequest(request: ExportLogsServiceRequest, ctx: IngestContext): NormalizedBatch {
  const events: AuditEvent[] = [];
  const received: Array<Uint8Array | undefined> = [];
  const rejected: Rejection[] = [];
  let index = 0;
  for (const resourceLogs of request.resourceLogs ?? []) {
    let resource: ResourceContext | undefined;
    let resourceError = '';
    try {
      resource = resourceContext(resourceLogs);
    } catch (error) {
      resourceError = `invalid resource attributes: ${(error as Error).message}`;
    }
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        const result = resource ? normalizeLogRecord(record, resource, ctx, scopeLogs.scope) : { ok: false as const, error: resourceError, reason: 'malformed' as const };
        if (result.ok) {
          events.push(result.event);
          received.push(result.received);
        } else rejected.push({ index, error: result.error, reason: result.reason });
        index += 1;
      }
    }
  }
  return { events, received, rejected };
}

/** The partial_success error_message: how many, and the first few reasons. */
export function describeRejections(rejected: ReadonlyArray<Rejection>, shown = 5): string {
  if (rejected.length === 0) return '';
  const reasons = rejected.slice(0, shown).map((r) => `record ${r.index}: ${r.error}`).join('; ');
  const more = rejected.length > shown ? `; and ${rejected.length - shown} more` : '';
  return `${rejected.length} log record(s) rejected: ${reasons}${more}`;
}
