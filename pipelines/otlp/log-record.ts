/**
 * One OTLP LogRecord -> one audit event, with the attribute mapping of DESIGN.md §5.
 * Pure: everything it needs comes in as arguments.
 */
import type { AuditEvent } from '../../schemas/audit-event.js';
import type { AnyValue, KeyValue, LogRecord, ResourceLogs, ScopeLogs } from '../../schemas/otlp.js';
import { finishEvent, type EventDraft, type IngestContext } from '../normalize/event.js';
import { sendableAsReceived } from './as-received.js';
import {
  type RejectionReason,
  anyValueJsonText,
  anyValueKind,
  anyValueToJs,
  anyValueToString,
  idToHex,
  InvalidValueError,
  jsonString,
  keyValuesJsonText,
  nanosOrUndefined,
  setOwn,
} from './values.js';

export type { IngestContext };

export interface ResourceContext {
  attributes: Record<string, string>;
  serviceName: string;
  tenant: string;
  /** The resource attributes as JSON, part of the content hash of id-less records. */
  fingerprint: string;
}

/** The instrumentation scope's name and version, kept as these attributes (export puts them back on the ScopeLogs). */
export const SCOPE_NAME_ATTRIBUTE = 'otel.scope.name';
export const SCOPE_VERSION_ATTRIBUTE = 'otel.scope.version';

export type InstrumentationScope = NonNullable<ScopeLogs['scope']>;

/** A normalized record, and its bytes as received when export may send it unchanged (not stored). */
export type NormalizeResult =
  | { ok: true; event: AuditEvent; received: Uint8Array | undefined }
  | { ok: false; error: string; reason: RejectionReason };

/** Attributes that map to columns, each with its slot in the per-record lookup array. */
const MAPPED_KEYS = [
  'event.name', 'audit.event_type', 'audit.action', 'audit.outcome',
  'user.id', 'user.name', 'user.full_name', 'user.email', 'audit.actor.type',
  'client.address', 'source.address', 'user_agent.original', 'audit.tenant.id',
  'audit.team.id', 'audit.project.id', 'audit.resource.type', 'audit.resource.id', 'audit.resource.name',
  'http.request.method', 'url.full', 'audit.changes', 'audit.metadata', 'log.record.uid',
] as const;
type MappedKey = (typeof MAPPED_KEYS)[number];
const SLOT = new Map<string, number>(MAPPED_KEYS.map((key, i) => [key, i]));
/** The same slots as constant properties: a lookup per column read costs nothing then. */
const SLOTS = Object.fromEntries(MAPPED_KEYS.map((key, i) => [key, i])) as Record<MappedKey, number>;
const slotOf = (key: MappedKey): number => SLOTS[key];

/** Of each pair only the first present attribute fills the column; the other stays an attribute. */
const ALTERNATIVES: ReadonlyArray<readonly [MappedKey, MappedKey]> = [
  ['user.name', 'user.full_name'],
  ['client.address', 'source.address'],
];

const OTLP_FIELDS = { eventType: 'event_name, event.name or audit.event_type', actor: 'user.id, user.name or user.email' };

export function resourceContext(resourceLogs: ResourceLogs): ResourceContext {
  const attributes: Record<string, string> = {};
  for (const kv of resourceLogs.resource?.attributes ?? []) setOwn(attributes, kv.key ?? '', anyValueToString(kv.value));
  return {
    attributes,
    serviceName: attributes['service.name'] ?? '',
    tenant: attributes['tenant.id'] ?? '',
    fingerprint: JSON.stringify(attributes),
  };
}

/**
 * A kvlist or a JSON-object string -> JSON object text. A string that already is a JSON
 * object is kept as sent, after checking it parses.
 */
function jsonObjectText(value: AnyValue, field: string): string {
  if (anyValueKind(value) === 'stringValue') {
    const text = value.stringValue!.trim();
    if (text.startsWith('{')) {
      jsonObject(value, field);
      return text;
    }
  }
  return JSON.stringify(jsonObject(value, field));
}

/** A kvlist or a JSON-object string -> the object; anything else is invalid. */
function jsonObject(value: AnyValue, field: string): Record<string, unknown> {
  const kind = anyValueKind(value);
  if (kind === 'kvlistValue') return anyValueToJs(value) as Record<string, unknown>;
  if (kind === 'stringValue') {
    const text = value.stringValue!;
    if (text.trim() === '') return {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidValueError(`${field} must be a JSON object (a kvlist or a JSON string)`);
}

/** The LogRecord in OTLP/JSON form, for the `raw` column. */
function rawRecordJson(rec: LogRecord, time: string | undefined, observed: string | undefined, traceId: string, spanId: string): string {
  let out = '{';
  const add = (field: string) => {
    out += out.length > 1 ? `,${field}` : field;
  };
  if (time) add(`"timeUnixNano":"${time}"`);
  if (observed) add(`"observedTimeUnixNano":"${observed}"`);
  if (rec.severityNumber) add(`"severityNumber":${JSON.stringify(rec.severityNumber)}`);
  if (rec.severityText) add(`"severityText":${jsonString(rec.severityText)}`);
  if (rec.eventName) add(`"eventName":${jsonString(rec.eventName)}`);
  if (rec.body != null) add(`"body":${anyValueJsonText(rec.body)}`);
  if (rec.attributes && rec.attributes.length > 0) add(`"attributes":${keyValuesJsonText(rec.attributes)}`);
  if (rec.droppedAttributesCount) add(`"droppedAttributesCount":${Number(rec.droppedAttributesCount)}`);
  if (rec.flags) add(`"flags":${Number(rec.flags)}`);
  if (traceId) add(`"traceId":"${traceId}"`);
  if (spanId) add(`"spanId":"${spanId}"`);
  return `${out}}`;
}

function severityNumberOf(value: LogRecord['severityNumber']): number {
  if (value == null) return 0;
  const byName = typeof value === 'string' ? SEVERITY_NAMES.indexOf(value) : -1;
  const n = byName >= 0 ? byName : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 24) throw new InvalidValueError('severityNumber must be 0..24');
  return n;
}

const SEVERITY_NAMES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level) =>
    ['', '2', '3', '4'].map((n) => `SEVERITY_NUMBER_${level}${n}`),
  ),
];

export function normalizeLogRecord(rec: LogRecord, resource: ResourceContext, ctx: IngestContext, scope?: InstrumentationScope | null): NormalizeResult {
  if (rec.invalid !== undefined) return { ok: false, error: rec.invalid, reason: 'malformed' };
  try {
    return { ok: true, ...toAuditEvent(rec, resource, ctx, scope) };
  } catch (error) {
    // Shapes are checked where records come in (OTLP/JSON by a schema, protobuf by its decoder): a TypeError here is a bug, not bad input.
    if (error instanceof InvalidValueError) return { ok: false, error: error.message, reason: error.reason };
    throw error;
  }
}

function toAuditEvent(rec: LogRecord, resource: ResourceContext, ctx: IngestContext, scope?: InstrumentationScope | null): { event: AuditEvent; received: Uint8Array | undefined } {
  const mapped: Array<AnyValue | undefined> = new Array(MAPPED_KEYS.length);
  const attributes: Record<string, string> = {};
  const recordAttributes = rec.attributes ?? [];
  if (!Array.isArray(recordAttributes)) throw new InvalidValueError('attributes must be an array');
  for (const kv of recordAttributes as KeyValue[]) {
    const key = kv.key ?? '';
    const slot = SLOT.get(key);
    if (slot !== undefined && kv.value != null) mapped[slot] = kv.value;
    else setOwn(attributes, key, anyValueToString(kv.value));
  }
  // The record's own attributes of these names, if any, win.
  if (typeof scope?.name === 'string' && scope.name !== '' && !(SCOPE_NAME_ATTRIBUTE in attributes)) attributes[SCOPE_NAME_ATTRIBUTE] = scope.name;
  if (typeof scope?.version === 'string' && scope.version !== '' && !(SCOPE_VERSION_ATTRIBUTE in attributes)) attributes[SCOPE_VERSION_ATTRIBUTE] = scope.version;
  for (const [first, second] of ALTERNATIVES) {
    if (mapped[slotOf(first)] !== undefined && mapped[slotOf(second)] !== undefined) {
      setOwn(attributes, second, anyValueToString(mapped[slotOf(second)]));
    }
  }
  const value = (key: MappedKey): AnyValue | undefined => mapped[slotOf(key)];
  const text = (key: MappedKey): string => anyValueToString(mapped[slotOf(key)]);

  const time = nanosOrUndefined(rec.timeUnixNano);
  const observed = nanosOrUndefined(rec.observedTimeUnixNano);
  const traceId = idToHex(rec.traceId, 16, 'traceId');
  const spanId = idToHex(rec.spanId, 8, 'spanId');
  const severityNumber = severityNumberOf(rec.severityNumber);

  // event_name, else event.name, else audit.event_type; the ones not used stay attributes.
  const eventTypeSources = [rec.eventName ?? '', text('event.name'), text('audit.event_type')];
  const eventTypeFrom = eventTypeSources.findIndex((v) => v !== '');
  const eventType = eventTypeFrom >= 0 ? eventTypeSources[eventTypeFrom]! : '';
  if (eventTypeFrom !== 1 && value('event.name') !== undefined) setOwn(attributes, 'event.name', text('event.name'));
  if (eventTypeFrom !== 2 && value('audit.event_type') !== undefined) setOwn(attributes, 'audit.event_type', text('audit.event_type'));
  let message = '';
  let bodyFields: Record<string, unknown> | undefined;
  if (rec.body != null) {
    if (anyValueKind(rec.body) === 'kvlistValue') bodyFields = anyValueToJs(rec.body) as Record<string, unknown>;
    else message = anyValueToString(rec.body);
  }
  const metadataValue = value('audit.metadata');
  const changesValue = value('audit.changes');
  let metadata: Record<string, unknown> | string = bodyFields ?? {};
  if (bodyFields && metadataValue) metadata = { ...bodyFields, ...jsonObject(metadataValue, 'audit.metadata') };
  else if (metadataValue) metadata = jsonObjectText(metadataValue, 'audit.metadata');

  const draft: EventDraft = {
    eventId: text('log.record.uid'),
    tenant: text('audit.tenant.id') || resource.tenant,
    occurredAt: time ?? observed,
    eventType,
    action: text('audit.action'),
    outcome: text('audit.outcome'),
    actorId: text('user.id'),
    actorName: text('user.name') || text('user.full_name'),
    actorEmail: text('user.email'),
    actorType: text('audit.actor.type'),
    clientIp: text('client.address') || text('source.address'),
    userAgent: text('user_agent.original'),
    teamId: text('audit.team.id'),
    projectId: text('audit.project.id'),
    resourceType: text('audit.resource.type'),
    resourceId: text('audit.resource.id'),
    resourceName: text('audit.resource.name'),
    requestMethod: text('http.request.method'),
    requestUrl: text('url.full'),
    message,
    changes: changesValue ? jsonObjectText(changesValue, 'audit.changes') : '{}',
    metadata,
    attributes,
    resourceAttributes: resource.attributes,
    serviceName: resource.serviceName,
    severityText: rec.severityText ?? '',
    severityNumber,
    traceId,
    spanId,
    identity: resource.fingerprint,
  };
  const event = finishEvent(draft, 'otlp', rawRecordJson(rec, time, observed, traceId, spanId), ctx, OTLP_FIELDS);
  // Export stamps a record without time_unix_nano with the stored occurred_at: never sent as received.
  const received = time === undefined ? undefined : sendableAsReceived(rec.wire, recordAttributes as KeyValue[], resource.attributes, event.tenant_id);
  return { event, received };
}

