/**
 * Realistic audit traffic for the benchmark: OTLP protobuf requests of 100 records, each
 * with a unique log.record.uid patched into a pre-encoded template, so the load generator
 * spends its CPU on sending, not encoding.
 */
import { decodeProtobuf, ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { normalizeExportRequest } from '../pipelines/otlp/request.js';
import type { AuditEvent } from '../schemas/audit-event.js';

const UID_PLACEHOLDER = 'UUUUUUUUUUUUUUUU';
/** Recognisable fixed64 times, replaced by the send time (records occur as they are sent). */
const TIME_MARK = 0x7ead_beef_0000_0000n;
const ACTIONS = ['monitor.create', 'monitor.update', 'monitor.delete', 'user.login', 'user.logout', 'api_key.create', 'team.member.grant', 'incident.read'];
const METHODS = ['POST', 'PATCH', 'DELETE', 'POST', 'POST', 'POST', 'PUT', 'GET'];

function record(i: number) {
  const kind = i % ACTIONS.length;
  const user = `user-${(i * 7919) % 5000}`;
  const attrs: Record<string, string> = {
    'log.record.uid': `req-${UID_PLACEHOLDER}-${String(i).padStart(3, '0')}`,
    'user.id': user,
    'user.name': `User ${user}`,
    'user.email': `${user}@example.com`,
    'client.address': `198.51.100.${i % 250}`,
    'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    'audit.tenant.id': `tenant-${i % 20}`,
    'audit.project.id': `project-${i % 50}`,
    'audit.resource.type': 'monitor',
    'audit.resource.id': String(100_000 + i),
    'audit.resource.name': `https://status.example.com/check/${i}`,
    'http.request.method': METHODS[kind]!,
    'url.full': `https://api.example.com/api/v2/monitors/${100_000 + i}`,
    'audit.metadata': JSON.stringify({ plan: 'team', region: 'eu-west-1', request_id: `r-${i}` }),
  };
  return {
    timeUnixNano: (TIME_MARK + BigInt(i)).toString(),
    observedTimeUnixNano: (TIME_MARK + BigInt(i)).toString(),
    severityNumber: 9,
    severityText: 'INFO',
    eventName: ACTIONS[kind],
    body: { stringValue: `${user} performed ${ACTIONS[kind]} on monitor ${100_000 + i}` },
    traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
    spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
    attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: { stringValue: value } })),
  };
}

export interface RequestTemplate {
  body: Buffer;
  /** Byte offsets of the uid placeholders to overwrite per send. */
  offsets: number[];
  /** Byte offsets of each record's time fields (fixed64), with the record's index. */
  timeOffsets: Array<[offset: number, index: number]>;
  records: number;
}

export function buildTemplate(recordsPerRequest: number, variant: number): RequestTemplate {
  const request = {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: `api-${variant % 4}` } },
            { key: 'service.version', value: { stringValue: '2.14.0' } },
            { key: 'host.name', value: { stringValue: `pod-${variant}` } },
          ],
        },
        scopeLogs: [{ scope: { name: 'audit' }, logRecords: Array.from({ length: recordsPerRequest }, (_, i) => record(i + variant * 1000)) }],
      },
    ],
  };
  const body = Buffer.from(ExportLogsServiceRequestType.encode(ExportLogsServiceRequestType.fromObject(request)).finish());
  const offsets: number[] = [];
  for (let at = body.indexOf(UID_PLACEHOLDER); at >= 0; at = body.indexOf(UID_PLACEHOLDER, at + 1)) offsets.push(at);
  const timeOffsets: Array<[number, number]> = [];
  for (let at = 0; at + 8 <= body.length; at++) {
    const value = body.readBigUInt64LE(at);
    if (value >= TIME_MARK && value < TIME_MARK + 1_000_000n) timeOffsets.push([at, Number(value - TIME_MARK) % 1000]);
  }
  return { body, offsets, timeOffsets, records: recordsPerRequest };
}

/**
 * Writes a 16-digit request number into every placeholder, making every uid unique, and
 * the send time (less a microsecond per record) into the time fields.
 */
export function stamp(template: RequestTemplate, target: Buffer, requestNumber: number): Buffer {
  template.body.copy(target);
  const digits = String(requestNumber).padStart(16, '0');
  for (const offset of template.offsets) target.write(digits, offset, 'latin1');
  const now = BigInt(Date.now()) * 1_000_000n;
  for (const [offset, index] of template.timeOffsets) target.writeBigUInt64LE(now - BigInt(index) * 1_000n, offset);
  return target;
}

/** The benchmark's records as the sidecar normalizes them, stamped with the current time. */
export function benchEvents(templates: ReturnType<typeof buildTemplate>[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const t of templates) {
    const normalized = normalizeExportRequest(decodeProtobuf(stamp(t, Buffer.alloc(t.body.length), events.length)), {
      tenantOverride: undefined,
      receivedAtNanos: `${Date.now()}000000`,
      retention: { defaultDays: 90, tenants: {} },
    });
    events.push(...normalized.events);
  }
  return events;
}
