/** The export's protobuf writer against protobufjs's fromObject + encode, and the §5 mapping back to OTLP. */
import { describe, expect, it } from 'vitest';
import { ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { buildExportRequest, encodeExportRequest } from '../collector/export/otlp-encoder.js';
import type { ExportRow } from '../collector/export/row-reader.js';
import { exportRowsOf } from '../collector/export/log-tail.js';
import { decodeJson, decodeProtobuf } from '../collector/receivers/otlp/codec.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import { normalizeExportRequest } from '../pipelines/otlp/request.js';
import { encodeProtobuf, kv, otlpRequest, type Attr, type TestRecord } from './support/otlp.js';
import protobuf from 'protobufjs';

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

describe('records sent as they arrived', () => {
  const NOW = `${Date.now()}000000`;
  const context = (tenantOverride?: string) => ({ tenantOverride, receivedAtNanos: NOW, retention: { defaultDays: 90, tenants: {} } });
  /** A protobuf request as the sidecar receives it, normalized. */
  /** Normalized records, each with the bytes ingest keeps for export (undefined: export re-encodes it). */
  const ingest = (records: TestRecord[], tenantOverride?: string, resource: Attr = { 'service.name': 'billing', 'tenant.id': 'acme' }) => {
    const batch = normalizeExportRequest(decodeProtobuf(encodeProtobuf(otlpRequest(records, resource))), context(tenantOverride));
    return batch.events.map((event, i) => Object.assign(event, { wire: batch.received[i] }));
  };
  const encode = (events: ReturnType<typeof ingest>, firstSeq: number) => encodeRows(events, firstSeq, 'c', undefined, events.map((e) => e.wire));
  const withUid = (n: number, extra: Attr = {}): TestRecord => ({
    eventName: 'user.login', body: `login ${n}`, attributes: { 'log.record.uid': `uid-${n}`, 'user.id': 'ü ✓', n, ratio: 1.5, ok: true, ...extra },
  });

  it('keeps the bytes of a record export would send unchanged, and only then', () => {
    const [plain, overridden, noUid, intUid] = [
      ingest([withUid(1)])[0]!,
      ingest([withUid(2)], 'bound-tenant')[0]!,
      ingest([{ eventName: 'user.login', attributes: { 'user.id': 'u' } }])[0]!,
      ingest([{ eventName: 'user.login', attributes: { 'user.id': 'u', 'log.record.uid': 7 } }])[0]!,
    ];
    expect(plain.wire).toBeDefined();
    expect(ingest([withUid(3)], 'acme')[0]!.wire).toBeDefined(); // a token of the tenant the record names
    expect(overridden.wire).toBeUndefined(); // export adds audit.tenant.id
    expect(noUid.wire).toBeUndefined(); // export adds log.record.uid
    expect(intUid.wire).toBeUndefined(); // export adds a string log.record.uid
    expect(normalizeExportRequest(decodeJson(Buffer.from(JSON.stringify(otlpRequest([withUid(4)])))), context()).received[0]).toBeUndefined();
  });

  it('writes the same message from the bytes as from raw', () => {
    const events = [...ingest([withUid(1), withUid(2, { 'audit.tenant.id': 'globex' })]), ...ingest([withUid(3)], 'bound-tenant')];
    const encoded = encode(events, 10);
    expect(encoded.received!.lengths[2]).toBe(0);
    const rows = exportRowsOf(encoded.buffer, encoded.received);
    expect(rows.map((r) => r.wire !== undefined)).toEqual([true, true, false]);
    const viaRaw = rows.map((row) => ({ ...Object.fromEntries(Object.keys(base).map((k) => [k, row[k as keyof ExportRow]])), wire: undefined }) as ExportRow);
    expect(decoded(encodeExportRequest(rows, 'protobuf'))).toEqual(decoded(encodeExportRequest(viaRaw, 'protobuf')));
    expect(() => exportRowsOf(encoded.buffer, { data: encoded.received!.data, lengths: encoded.received!.lengths.subarray(1) })).toThrow(/received lengths/);
  });

  it('stores the instrumentation scope and sends each record under it again, from bytes or from raw', () => {
    const request = otlpRequest([withUid(1), withUid(2)], { 'service.name': 'billing', 'tenant.id': 'acme' });
    request.resourceLogs[0]!.scopeLogs[0]!.scope = { name: 'billing-lib', version: '1.2.3' } as { name: string };
    request.resourceLogs[0]!.scopeLogs.push({ scope: { name: 'other-lib' }, logRecords: otlpRequest([withUid(3)]).resourceLogs[0]!.scopeLogs[0]!.logRecords });
    const batch = normalizeExportRequest(decodeProtobuf(encodeProtobuf(request)), context());
    const events = batch.events.map((event, i) => Object.assign(event, { wire: batch.received[i] }));
    expect(events.map((e) => [e.attributes['otel.scope.name'], e.attributes['otel.scope.version']])).toEqual([['billing-lib', '1.2.3'], ['billing-lib', '1.2.3'], ['other-lib', undefined]]);
    const encoded = encode(events, 10);
    for (const rows of [exportRowsOf(encoded.buffer, encoded.received), exportRowsOf(encoded.buffer)]) {
      const sent = decoded(encodeExportRequest(rows, 'protobuf')) as { resourceLogs: Array<{ scopeLogs: Array<{ scope: unknown; logRecords: Array<{ attributes: Array<{ key: string }> }> }> }> };
      const scopes = sent.resourceLogs[0]!.scopeLogs;
      expect(scopes.map((s) => [s.scope, s.logRecords.length])).toEqual([[{ name: 'billing-lib', version: '1.2.3' }, 2], [{ name: 'other-lib' }, 1]]);
      // The scope goes back on the ScopeLogs, not as record attributes.
      expect(scopes.flatMap((s) => s.logRecords.flatMap((r) => r.attributes.map((a) => a.key))).filter((k) => k.startsWith('otel.scope'))).toEqual([]);
    }
  });

  it('sends a record that came without a time with the time it was stored at', () => {
    const [event] = ingest([{ ...withUid(9), timeUnixNano: '0' }]);
    expect(event!.wire).toBeUndefined(); // its bytes lack the time: never sent as received
    expect(event!.occurred_at).toBe(NOW);
    const encoded = encode([event!], 1);
    const sent = decoded(encodeExportRequest(exportRowsOf(encoded.buffer, encoded.received), 'protobuf')) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ timeUnixNano: string }> }> }> };
    expect(sent.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano).toBe(NOW);
    const json = buildExportRequest(exportRowsOf(encoded.buffer)) as { resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ timeUnixNano: string }> }> }> };
    expect(json.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano).toBe(NOW);
  });

  it('sends the very bytes received, fields it does not know included', () => {
    const LogRecordType = ExportLogsServiceRequestType.root.lookupType('opentelemetry.proto.logs.v1.LogRecord');
    const known = LogRecordType.encode(LogRecordType.fromObject({ timeUnixNano: NOW, eventName: 'user.login', attributes: kv({ 'log.record.uid': 'uid-x', 'user.id': 'u' }) })).finish();
    const record = Buffer.concat([known, Buffer.from([0xf8, 0x06, 0x2a])]); // field 111, varint 42: not in the spec
    const w = protobuf.Writer.create();
    w.uint32(10).fork().uint32(10).fork().uint32(10).fork().uint32(10).string('tenant.id').uint32(18).fork().uint32(10).string('acme').ldelim().ldelim().ldelim();
    w.uint32(18).fork().uint32(18).bytes(record).ldelim().ldelim();
    const batch = normalizeExportRequest(decodeProtobuf(w.finish()), context());
    const event = Object.assign(batch.events[0]!, { wire: batch.received[0] });
    expect(Buffer.from(event.wire!)).toEqual(record);
    const encoded = encode([event], 1);
    const body = encodeExportRequest(exportRowsOf(encoded.buffer, encoded.received), 'protobuf');
    expect(body.includes(record)).toBe(true);
    expect(encodeExportRequest(exportRowsOf(encoded.buffer), 'protobuf').includes(record)).toBe(false); // from raw: re-encoded
  });
});
