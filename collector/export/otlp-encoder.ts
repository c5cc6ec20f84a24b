/**
 * Stored rows -> an ExportLogsServiceRequest with the attribute mapping of DESIGN.md §5,
 * so another sidecar that receives it stores the same rows.
 *
 * A row that arrived as OTLP is sent as the LogRecord it arrived as (its `raw`), adding
 * only what another hop needs to store it the same way: `log.record.uid` when the record
 * had none, and `audit.tenant.id` when its tenant came from outside the record (a
 * tenant-bound token). Rows from JSON profiles are written from their columns. A record
 * that needs neither addition, fed to export straight from its commit, goes as the very
 * protobuf bytes it arrived in.
 */
import { SCOPE_NAME_ATTRIBUTE, SCOPE_VERSION_ATTRIBUTE } from '../../pipelines/otlp/log-record.js';
import { claimedTenant, firstStringAttribute } from '../../pipelines/otlp/as-received.js';
import type { ExportRow } from './row-reader.js';
import { EncodedLogRecord, writeExportRequest } from './protobuf-writer.js';

type OtlpValue = Record<string, unknown>;
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpRecord {
  attributes?: OtlpKeyValue[];
  [field: string]: unknown;
}

const str = (value: string): OtlpValue => ({ stringValue: value });

function fromRaw(row: ExportRow): OtlpRecord {
  const record = JSON.parse(row.raw) as OtlpRecord;
  // A record that came without a time leaves with the one stored, so the next hop does not use its own receive time.
  if (record.timeUnixNano === undefined) record.timeUnixNano = row.occurred_ns;
  const attributes = (record.attributes ??= []);
  if (firstStringAttribute(attributes, 'log.record.uid') === undefined) attributes.push({ key: 'log.record.uid', value: str(row.event_id) });
  if (claimedTenant(attributes, row.resource_attributes) !== row.tenant_id) {
    record.attributes = attributes.filter((a) => a.key !== 'audit.tenant.id');
    record.attributes.push({ key: 'audit.tenant.id', value: str(row.tenant_id) });
  }
  return record;
}

/** Column -> OTLP attribute, the inverse of the receive mapping. */
const COLUMN_ATTRIBUTES: ReadonlyArray<[keyof ExportRow, string]> = [
  ['action', 'audit.action'], ['outcome', 'audit.outcome'],
  ['actor_id', 'user.id'], ['actor_name', 'user.name'], ['actor_email', 'user.email'], ['actor_type', 'audit.actor.type'],
  ['client_ip', 'client.address'], ['user_agent', 'user_agent.original'], ['tenant_id', 'audit.tenant.id'],
  ['team_id', 'audit.team.id'], ['project_id', 'audit.project.id'],
  ['resource_type', 'audit.resource.type'], ['resource_id', 'audit.resource.id'], ['resource_name', 'audit.resource.name'],
  ['request_method', 'http.request.method'], ['request_url', 'url.full'], ['event_id', 'log.record.uid'], ['source', 'audit.source'],
];

function fromColumns(row: ExportRow): OtlpRecord {
  const attributes: OtlpKeyValue[] = [];
  for (const [column, key] of COLUMN_ATTRIBUTES) {
    const value = row[column];
    if (typeof value === 'string' && value !== '') attributes.push({ key, value: str(value) });
  }
  if (row.changes !== '{}') attributes.push({ key: 'audit.changes', value: str(row.changes) });
  if (row.metadata !== '{}') attributes.push({ key: 'audit.metadata', value: str(row.metadata) });
  for (const [key, value] of Object.entries(row.attributes)) {
    if (key !== SCOPE_NAME_ATTRIBUTE && key !== SCOPE_VERSION_ATTRIBUTE) attributes.push({ key, value: str(value) });
  }
  const record: OtlpRecord = { timeUnixNano: row.occurred_ns, eventName: row.event_type, attributes };
  if (row.message !== '') record.body = str(row.message);
  if (row.severity_number) record.severityNumber = row.severity_number;
  if (row.severity_text) record.severityText = row.severity_text;
  if (row.trace_id) record.traceId = row.trace_id;
  if (row.span_id) record.spanId = row.span_id;
  return record;
}

function resourceOf(row: ExportRow): OtlpKeyValue[] {
  const attributes = Object.entries(row.resource_attributes).map(([key, value]) => ({ key, value: str(value) }));
  if (row.service_name !== '' && row.resource_attributes['service.name'] === undefined) {
    attributes.push({ key: 'service.name', value: str(row.service_name) });
  }
  return attributes;
}

/**
 * Rows with equal keys share a resource (and a tenant). Lengths keep it unambiguous
 * whatever the text holds; built per row, it replaced a JSON.stringify of the resource
 * that cost a tenth of the export thread.
 */
function groupKey(row: ExportRow): string {
  let key = `${row.tenant_id.length}:${row.tenant_id}${row.service_name.length}:${row.service_name}`;
  const attributes = row.resource_attributes;
  for (const name in attributes) key += `${name.length}:${name}${attributes[name]!.length}:${attributes[name]}`;
  return key;
}

/**
 * The request as OTLP/JSON data (hex ids, int64 as strings), records grouped by resource.
 * With `asReceived`, a record that export would send unchanged and whose protobuf bytes as
 * received are known goes as those bytes (for the protobuf writer only): no `raw` to parse
 * and re-encode.
 */
export function buildExportRequest(rows: readonly ExportRow[], asReceived = false): { resourceLogs: unknown[] } {
  type ScopeGroup = { scope: { name?: string; version?: string }; records: Array<OtlpRecord | EncodedLogRecord> };
  const groups = new Map<string, { resource: OtlpKeyValue[]; scopes: Map<string, ScopeGroup> }>();
  for (const row of rows) {
    const key = groupKey(row);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { resource: resourceOf(row), scopes: new Map() }));
    // The instrumentation scope the record arrived under (kept as attributes), else none.
    const name = row.attributes[SCOPE_NAME_ATTRIBUTE];
    const version = row.attributes[SCOPE_VERSION_ATTRIBUTE];
    const scopeKey = `${name?.length ?? -1}:${name ?? ''}${version ?? ''}`;
    let scope = group.scopes.get(scopeKey);
    if (!scope) group.scopes.set(scopeKey, (scope = { scope: { ...(name !== undefined ? { name } : {}), ...(version !== undefined ? { version } : {}) }, records: [] }));
    if (row.source !== 'otlp') scope.records.push(fromColumns(row));
    else scope.records.push(asReceived && row.wire ? new EncodedLogRecord(row.wire) : fromRaw(row));
  }
  return {
    resourceLogs: [...groups.values()].map((g) => ({
      resource: { attributes: g.resource },
      scopeLogs: [...g.scopes.values()].map((s) => ({ scope: s.scope, logRecords: s.records })),
    })),
  };
}

export function encodeExportRequest(rows: readonly ExportRow[], encoding: 'protobuf' | 'json'): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify(buildExportRequest(rows)));
  const bytes = writeExportRequest(buildExportRequest(rows, true));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
