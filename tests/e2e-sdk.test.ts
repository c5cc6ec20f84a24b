/**
 * End to end with the real OpenTelemetry JS SDK: the proto and JSON OTLP log exporters,
 * gzip on, send to a started sidecar; the rows are read back from the embedded store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Sidecar } from '../collector/sidecar.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

let sidecar: Sidecar;

beforeAll(async () => {
  sidecar = await startTestSidecar({ dataDir: tempDir(), retention: { default_days: 90, tenants: { acme: 365 } } });
});
afterAll(async () => {
  await sidecar?.stop();
});

function providerFor(exporter: ProtoExporter | JsonExporter, service: string) {
  return new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'tenant.id': 'acme' }),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
}

type Row = Record<string, string | number | Record<string, string>>;

async function rowsOf(service: string): Promise<Row[]> {
  return queryRows<Row>(
    sidecar,
    `SELECT *, toString(occurred_at) AS occurred, toString(toUnixTimestamp64Nano(occurred_at)) AS occurred_ns
       FROM audit.events WHERE service_name = {s:String} ORDER BY ingest_seq`,
    { s: service },
  );
}

describe.each([
  ['protobuf', (url: string) => new ProtoExporter({ url, compression: CompressionAlgorithm.GZIP })],
  ['json', (url: string) => new JsonExporter({ url, compression: CompressionAlgorithm.GZIP })],
])('OpenTelemetry SDK exporter over %s + gzip', (encoding, makeExporter) => {
  const service = `billing-${encoding}`;

  it('stores every record with the contract mapping', async () => {
    const provider = providerFor(makeExporter(`${sidecar.ingestUrl}/v1/logs`), service);
    const logger = provider.getLogger('audit');
    const occurred: [number, number] = [Math.floor(Date.now() / 1000) - 60, 123_456_789];
    logger.emit({
      eventName: 'monitor.delete',
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      timestamp: occurred,
      body: 'alice deleted monitor 42',
      attributes: {
        'log.record.uid': `uid-${encoding}-1`,
        'user.id': 'u-17',
        'user.name': 'Alice',
        'user.email': 'alice@example.com',
        'audit.actor.type': 'user',
        'client.address': '203.0.113.9',
        'user_agent.original': 'curl/8.5',
        'audit.team.id': 'team-1',
        'audit.project.id': 'proj-9',
        'audit.resource.type': 'monitor',
        'audit.resource.id': '42',
        'audit.resource.name': 'homepage',
        'http.request.method': 'DELETE',
        'url.full': 'https://app.example.com/api/monitors/42',
        'audit.changes': JSON.stringify({ paused: { old: false, new: true } }),
        'audit.metadata': JSON.stringify({ reason: 'cleanup' }),
        'deployment.environment': 'prod',
      },
    });
    logger.emit({
      severityNumber: SeverityNumber.ERROR,
      body: { attempt: 3, method: 'password' },
      attributes: { 'event.name': 'user.login', 'user.email': 'bob@example.com', 'audit.tenant.id': 'globex' },
    });
    await provider.forceFlush();
    await provider.shutdown();

    const rows = await rowsOf(service);
    expect(rows).toHaveLength(2);
    const [del, login] = rows as [Row, Row];
    expect(del).toMatchObject({
      event_id: `uid-${encoding}-1`,
      tenant_id: 'acme',
      event_type: 'monitor.delete',
      action: 'delete',
      outcome: 'success',
      actor_id: 'u-17',
      actor_name: 'Alice',
      actor_email: 'alice@example.com',
      actor_type: 'user',
      client_ip: '203.0.113.9',
      user_agent: 'curl/8.5',
      team_id: 'team-1',
      project_id: 'proj-9',
      resource_type: 'monitor',
      resource_id: '42',
      resource_name: 'homepage',
      request_method: 'DELETE',
      request_url: 'https://app.example.com/api/monitors/42',
      message: 'alice deleted monitor 42',
      service_name: service,
      severity_text: 'INFO',
      severity_number: 9,
      source: 'otlp',
      retention_days: 365,
      collector_id: 'test',
    });
    // Nanoseconds survive exactly.
    expect(String(del.occurred_ns)).toBe(`${occurred[0]}${String(occurred[1]).padStart(9, '0')}`);
    expect(JSON.parse(del.changes as string)).toEqual({ paused: { old: false, new: true } });
    expect(JSON.parse(del.metadata as string)).toEqual({ reason: 'cleanup' });
    expect(del.attributes).toEqual({ 'deployment.environment': 'prod', 'otel.scope.name': 'audit' }); // the scope, kept as attributes
    expect(del.resource_attributes).toMatchObject({ 'service.name': service, 'tenant.id': 'acme' });
    expect(JSON.parse(del.raw as string)).toMatchObject({ eventName: 'monitor.delete', body: { stringValue: 'alice deleted monitor 42' } });

    // The audit.tenant.id attribute wins over the resource's tenant.id; a map body feeds metadata.
    expect(login).toMatchObject({
      tenant_id: 'globex',
      event_type: 'user.login',
      action: 'login',
      outcome: 'failure',
      actor_email: 'bob@example.com',
      actor_type: 'user',
      message: '',
      retention_days: 90,
    });
    expect(JSON.parse(login.metadata as string)).toEqual({ attempt: 3, method: 'password' });
    expect(login.event_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(login.ingest_seq)).toBe(Number(del.ingest_seq) + 1);
  });
});
