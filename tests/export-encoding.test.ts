/** The export's protobuf writer against protobufjs's fromObject + encode, and the §5 mapping back to OTLP. */
import { describe, expect, it } from 'vitest';
import { ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { buildExportRequest, encodeExportRequest } from '../collector/export/otlp-encoder.js';
import type { ExportRow } from '../collector/export/row-reader.js';

const base: ExportRow = {
  seq: 1, event_id: 'e-1', tenant_id: 'acme', occurred_ns: '1794999999123456789', event_type: 'monitor.delete',
  action: 'delete', outcome: 'success', actor_id: 'u1', actor_name: 'Ada', actor_email: 'ada@example.com', actor_type: 'user',
  client_ip: '192.0.2.1', user_agent: 'ua', team_id: 't1', project_id: 'p1', resource_type: 'monitor', resource_id: '42',
  resource_name: 'home', request_method: 'DELETE', request_url: 'https://x/monitors/42', message: 'deleted', changes: '{"a":{"old":1,"new":2}}',
  metadata: '{}', attributes: { extra: 'x' }, resource_attributes: { 'service.name': 'billing' }, service_name: 'billing',
  severity_text: 'INFO', severity_number: 9, trace_id: '0102030405060708090a0b0c0d0e0f10', span_id: 'a1a2a3a4a5a6a7a8',
  source: 'json:canonical', raw: '{}',
};

const otlpRow: ExportRow = {
  ...base,
  seq: 2,
  event_id: 'uid-2',
  source: 'otlp',
  raw: JSON.stringify({
    timeUnixNano: '1794999999123456789', observedTimeUnixNano: '1794999999223456789', severityNumber: 17, severityText: 'ERROR',
    eventName: 'user.login', flags: 1, droppedAttributesCount: 2, traceId: '0102030405060708090a0b0c0d0e0f10',
    body: { kvlistValue: { values: [{ key: 'nested', value: { arrayValue: { values: [{ intValue: '-9007199254740993' }, { doubleValue: 1.5 }, { bytesValue: 'AP8=' }, { boolValue: false }] } } }] } },
    attributes: [{ key: 'log.record.uid', value: { stringValue: 'uid-2' } }, { key: 'user.id', value: { stringValue: 'ü ✓' } }, { key: 'empty', value: {} }],
  }),
};

function viaFromObject(rows: ExportRow[]) {
  const request = buildExportRequest(rows) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<Record<string, unknown>> }> }> };
  for (const rl of request.resourceLogs) {
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        if (typeof r.traceId === 'string') r.traceId = Buffer.from(r.traceId, 'hex');
        if (typeof r.spanId === 'string') r.spanId = Buffer.from(r.spanId, 'hex');
      }
    }
  }
  return ExportLogsServiceRequestType.encode(ExportLogsServiceRequestType.fromObject(request)).finish();
}

const decoded = (bytes: Uint8Array) => ExportLogsServiceRequestType.toObject(ExportLogsServiceRequestType.decode(bytes), { longs: String, bytes: String });

describe('export encoding', () => {
  it('writes the same protobuf message as fromObject + encode', () => {
    const rows = [base, otlpRow, { ...base, seq: 3, event_id: 'e-3', tenant_id: 'globex' }];
    expect(decoded(encodeExportRequest(rows, 'protobuf'))).toEqual(decoded(viaFromObject(rows)));
  });

  it('maps columns back to the §5 attributes and groups records by resource and tenant', () => {
    const request = decoded(encodeExportRequest([base, { ...base, seq: 3, event_id: 'e-3', tenant_id: 'globex' }], 'protobuf')) as {
      resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { stringValue: string } }> }> }> }>;
    };
    expect(request.resourceLogs).toHaveLength(2);
    const attributes = Object.fromEntries(request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(attributes).toMatchObject({
      'audit.action': 'delete', 'user.id': 'u1', 'user.email': 'ada@example.com', 'client.address': '192.0.2.1', 'audit.tenant.id': 'acme',
      'audit.resource.type': 'monitor', 'http.request.method': 'DELETE', 'log.record.uid': 'e-1', 'audit.changes': '{"a":{"old":1,"new":2}}',
      'audit.source': 'json:canonical', extra: 'x',
    });
  });

  it('sends an OTLP-sourced record as it arrived, adding only what identity needs', () => {
    const [record] = (buildExportRequest([{ ...otlpRow, tenant_id: 'bound-tenant' }]).resourceLogs[0] as { scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string }> }> }> }).scopeLogs[0]!.logRecords;
    expect(record!.attributes.map((a) => a.key)).toEqual(['log.record.uid', 'user.id', 'empty', 'audit.tenant.id']);
  });
});
