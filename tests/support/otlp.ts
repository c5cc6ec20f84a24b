/** Builds OTLP requests for tests and the benchmark with the project's own .proto files. */
import { ExportLogsServiceRequestType } from '../../collector/receivers/otlp/codec.js';

export type Attr = Record<string, string | number | boolean>;

export function kv(attributes: Attr) {
  return Object.entries(attributes).map(([key, value]) => ({
    key,
    value:
      typeof value === 'string'
        ? { stringValue: value }
        : typeof value === 'boolean'
          ? { boolValue: value }
          : Number.isInteger(value)
            ? { intValue: value }
            : { doubleValue: value },
  }));
}

export interface TestRecord {
  timeUnixNano?: string;
  eventName?: string;
  body?: string;
  severityNumber?: number;
  attributes?: Attr;
}

/** An OTLP/JSON-shaped request object (lowerCamelCase, int64 as strings). */
export function otlpRequest(records: TestRecord[], resource: Attr = { 'service.name': 'test-svc' }) {
  return {
    resourceLogs: [
      {
        resource: { attributes: kv(resource) },
        scopeLogs: [
          {
            scope: { name: 'audit' },
            logRecords: records.map((r) => ({
              timeUnixNano: r.timeUnixNano ?? `${Date.now()}000000`,
              severityNumber: r.severityNumber ?? 9,
              eventName: r.eventName ?? 'user.login',
              body: { stringValue: r.body ?? 'something happened' },
              attributes: kv(r.attributes ?? { 'user.id': 'u-1' }),
            })),
          },
        ],
      },
    ],
  };
}

export function encodeProtobuf(request: object): Uint8Array {
  return ExportLogsServiceRequestType.encode(ExportLogsServiceRequestType.fromObject(request)).finish();
}
