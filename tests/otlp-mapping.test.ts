/** The OTLP attribute mapping of DESIGN.md §5, record in -> row out, without I/O. */
import { describe, expect, it } from 'vitest';
import type { LogRecord, ResourceLogs } from '../schemas/otlp.js';
import { normalizeLogRecord, resourceContext, type IngestContext } from '../pipelines/otlp/log-record.js';
import { describeRejections, normalizeExportRequest } from '../pipelines/otlp/request.js';
import { kv, type Attr } from './support/otlp.js';

const NOW = '1795000000000000000';
const ctx: IngestContext = { tenantOverride: undefined, receivedAtNanos: NOW, retention: { defaultDays: 90, tenants: { acme: 365 } } };
const resource = resourceContext({ resource: { attributes: kv({ 'service.name': 'billing', 'tenant.id': 'acme', 'host.name': 'h1' }) } });

function normalize(rec: LogRecord, context: IngestContext = ctx) {
  const result = normalizeLogRecord(rec, resource, context);
  if (!result.ok) throw new Error(result.error);
  return result.event;
}

const record = (attributes: Attr, extra: Partial<LogRecord> = {}): LogRecord => ({
  timeUnixNano: '1794999999123456789',
  eventName: 'project.update',
  attributes: kv(attributes),
  ...extra,
});

describe('OTLP LogRecord -> audit event', () => {
  it('maps every contract attribute to its column', () => {
    const event = normalize(
      record({
        'log.record.uid': 'evt-1',
        'audit.action': 'update',
        'audit.outcome': 'success',
        'user.id': 'u1',
        'user.name': 'Ada',
        'user.email': 'ada@example.com',
        'audit.actor.type': 'api_key',
        'client.address': '192.0.2.1',
        'user_agent.original': 'ua/1',
        'audit.team.id': 't1',
        'audit.project.id': 'p1',
        'audit.resource.type': 'project',
        'audit.resource.id': 'p1',
        'audit.resource.name': 'Website',
        'http.request.method': 'patch',
        'url.full': 'https://x/api/projects/p1',
        'audit.changes': '{"name":{"old":"a","new":"b"}}',
        'audit.metadata': '{"k":1}',
        custom: 'kept',
      }),
    );
    expect(event).toMatchObject({
      event_id: 'evt-1',
      tenant_id: 'acme',
      occurred_at: '1794999999123456789',
      received_at: NOW,
      event_type: 'project.update',
      action: 'update',
      outcome: 'success',
      actor_id: 'u1',
      actor_name: 'Ada',
      actor_email: 'ada@example.com',
      actor_type: 'api_key',
      client_ip: '192.0.2.1',
      user_agent: 'ua/1',
      team_id: 't1',
      project_id: 'p1',
      resource_type: 'project',
      resource_id: 'p1',
      resource_name: 'Website',
      request_method: 'PATCH',
      request_url: 'https://x/api/projects/p1',
      changes: '{"name":{"old":"a","new":"b"}}',
      metadata: '{"k":1}',
      attributes: { custom: 'kept' },
      resource_attributes: { 'service.name': 'billing', 'tenant.id': 'acme', 'host.name': 'h1' },
      service_name: 'billing',
      source: 'otlp',
      retention_days: 365,
    });
  });

  it('takes the first present alternative and keeps the others as attributes', () => {
    const event = normalize(
      record(
        { 'event.name': 'a.b', 'audit.event_type': 'c.d', 'user.full_name': 'Full', 'user.name': 'Short', 'source.address': '10.0.0.2', 'client.address': '10.0.0.1' },
        { eventName: '' },
      ),
    );
    expect(event.event_type).toBe('a.b');
    expect(event.actor_name).toBe('Short');
    expect(event.client_ip).toBe('10.0.0.1');
    expect(event.attributes).toEqual({ 'audit.event_type': 'c.d', 'user.full_name': 'Full', 'source.address': '10.0.0.2' });
  });

  it('uses event_name before the event.name attribute, and user.full_name when user.name is absent', () => {
    const event = normalize(record({ 'event.name': 'attr.name', 'user.full_name': 'Full Name' }, { eventName: 'field.name' }));
    expect(event.event_type).toBe('field.name');
    expect(event.actor_name).toBe('Full Name');
    expect(event.attributes).toEqual({ 'event.name': 'attr.name' });
  });

  it('falls back from time_unix_nano to observed_time_unix_nano to the receive time', () => {
    expect(normalize(record({ 'user.id': 'u' }, { timeUnixNano: null, observedTimeUnixNano: '1794999999000000001' })).occurred_at).toBe('1794999999000000001');
    expect(normalize(record({ 'user.id': 'u' }, { timeUnixNano: null })).occurred_at).toBe(NOW);
    // protobuf's "unset" is zero
    expect(normalize(record({ 'user.id': 'u' }, { timeUnixNano: { low: 0, high: 0, unsigned: true } })).occurred_at).toBe(NOW);
  });

  it('keeps nanoseconds exact from Long bits, strings and numbers', () => {
    const fromLong = normalize(record({ 'user.id': 'u' }, { timeUnixNano: { low: 1032178965, high: 417929917, unsigned: true } }));
    expect(fromLong.occurred_at).toBe(((417929917n << 32n) | 1032178965n).toString());
    expect(normalize(record({ 'user.id': 'u' }, { timeUnixNano: '01794999999123456789' })).occurred_at).toBe('1794999999123456789');
  });

  it('resolves the tenant: token, then audit.tenant.id, then resource tenant.id, then default', () => {
    expect(normalize(record({ 'audit.tenant.id': 'globex' }), { ...ctx, tenantOverride: 'initech' }).tenant_id).toBe('initech');
    expect(normalize(record({ 'audit.tenant.id': 'globex' })).tenant_id).toBe('globex');
    expect(normalize(record({})).tenant_id).toBe('acme');
    const bare = resourceContext({ resource: { attributes: [] } });
    const result = normalizeLogRecord(record({}), bare, ctx);
    expect(result.ok && result.event.tenant_id).toBe('default');
    expect(result.ok && result.event.retention_days).toBe(90);
  });

  it('uses a string body as the message and a map body as metadata', () => {
    expect(normalize(record({}, { body: { stringValue: 'hello' } })).message).toBe('hello');
    const rec = record({}, { body: { kvlistValue: { values: kv({ a: 1, b: 1 }) } } });
    rec.attributes!.push({ key: 'audit.metadata', value: { kvlistValue: { values: kv({ b: 2 }) } } });
    const mapBody = normalize(rec);
    expect(mapBody.message).toBe('');
    expect(JSON.parse(mapBody.metadata)).toEqual({ a: 1, b: 2 });
  });

  it('accepts changes and metadata as kvlists', () => {
    const rec = record({});
    rec.attributes!.push({ key: 'audit.changes', value: { kvlistValue: { values: [{ key: 'plan', value: { kvlistValue: { values: kv({ old: 'free', new: 'pro' }) } } }] } } });
    expect(JSON.parse(normalize(rec).changes)).toEqual({ plan: { old: 'free', new: 'pro' } });
  });

  it('writes ids as hex and raw as OTLP/JSON', () => {
    const event = normalize(record({ 'user.id': 'u', n: 12 }, { traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'), spanId: Buffer.from('a1a2a3a4a5a6a7a8', 'hex'), severityNumber: 17, severityText: 'ERROR' }));
    expect(event.trace_id).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(event.span_id).toBe('a1a2a3a4a5a6a7a8');
    expect(event.outcome).toBe('failure');
    expect(JSON.parse(event.raw)).toEqual({
      timeUnixNano: '1794999999123456789',
      severityNumber: 17,
      severityText: 'ERROR',
      eventName: 'project.update',
      attributes: [
        { key: 'user.id', value: { stringValue: 'u' } },
        { key: 'n', value: { intValue: '12' } },
      ],
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: 'a1a2a3a4a5a6a7a8',
    });
  });

  it('gives id-less records a stable content hash, different for different content', () => {
    const a = normalize(record({ 'user.id': 'u' }));
    const again = normalize(record({ 'user.id': 'u' }));
    const other = normalize(record({ 'user.id': 'v' }));
    expect(a.event_id).toMatch(/^[0-9a-f]{32}$/);
    expect(again.event_id).toBe(a.event_id);
    expect(other.event_id).not.toBe(a.event_id);
  });

  it('keeps a "__proto__" attribute as data', () => {
    const event = normalize(record({ ['__proto__']: 'x', 'user.id': 'u' }));
    expect(Object.keys(event.attributes)).toEqual(['__proto__']);
    expect(JSON.stringify(event.attributes)).toBe('{"__proto__":"x"}');
  });

  it.each([
    [record({}, { eventName: '' }), 'no recognisable event type (event_name, event.name or audit.event_type) and no actor'],
    [record({ 'audit.changes': 'not json' }), 'audit.changes must be a JSON object'],
    [record({ 'audit.metadata': '[1,2]' }), 'audit.metadata must be a JSON object'],
    [record({}, { traceId: 'xyz' }), 'traceId must be 32 hex characters'],
    [record({}, { timeUnixNano: '1600000000000000000' }), 'past its tenant\'s retention'],
    [record({}, { severityNumber: 99 }), 'severityNumber must be 0..24'],
    [record({}, { timeUnixNano: '18446744073709551615' }), 'after 2106'],
    // 2106-01-01 is storable, but not with the tenant's year of retention: the TTL would wrap to 1970.
    [record({}, { timeUnixNano: '4291747200000000000' }), 'plus its retention of 365 days is after 2106'],
    [{ ...record({}), attributes: 'nope' as never }, 'attributes must be an array'],
  ])('rejects an unusable record (%#)', (rec, reason) => {
    const result = normalizeLogRecord(rec, resource, ctx);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(reason);
  });

  it('rejects values nested too deeply', () => {
    let value: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i < 40; i++) value = { arrayValue: { values: [value] } };
    const result = normalizeLogRecord(record({}, { body: value as never }), resource, ctx);
    expect(!result.ok && result.error).toContain('nested deeper');
  });
});

describe('a whole request', () => {
  it('indexes rejections across resources and scopes and describes them', () => {
    const good = record({ 'user.id': 'u' });
    const bad = record({}, { eventName: '' });
    const request: { resourceLogs: ResourceLogs[] } = {
      resourceLogs: [
        { resource: { attributes: [] }, scopeLogs: [{ logRecords: [good, bad] }, { logRecords: [good] }] },
        { resource: { attributes: [] }, scopeLogs: [{ logRecords: [bad, good] }] },
      ],
    };
    const { events, rejected } = normalizeExportRequest(request, ctx);
    expect(events).toHaveLength(3);
    expect(rejected.map((r) => r.index)).toEqual([1, 3]);
    expect(describeRejections(rejected)).toMatch(/^2 log record\(s\) rejected: record 1: record has no recognisable event type/);
  });
});
