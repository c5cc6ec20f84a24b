/**
 * The hand-written protobuf decoder against protobufjs's generated one, on seeded random
 * mutants of valid requests: the same accept/reject decision, and when both accept, the
 * same records (counts, scalars, ids, attribute keys). Plus the cases the adversarial test
 * found: field number 0, a string running past its LogRecord, wire-type mismatches.
 */
import { describe, expect, it } from 'vitest';
import { decodeExportLogsRequest } from '../collector/receivers/otlp/protobuf-decoder.js';
import { ExportLogsServiceRequestType } from '../collector/receivers/otlp/codec.js';
import { encodeProtobuf, otlpRequest } from './support/otlp.js';

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (bytes: unknown) => (bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : typeof bytes === 'string' ? bytes : '');

type Summary = Array<{ resource: string[]; scopes: Array<{ name: string; records: string[] }> }>;

function oursOf(body: Uint8Array): Summary {
  return decodeExportLogsRequest(body).resourceLogs!.map((rl) => ({
    resource: (rl.resource?.attributes ?? []).map((a) => a.key ?? ''),
    scopes: (rl.scopeLogs ?? []).map((sl) => ({
      name: sl.scope?.name ?? '',
      records: (sl.logRecords ?? []).map((r) =>
        JSON.stringify([r.timeUnixNano ?? '0', r.observedTimeUnixNano ?? '0', r.severityNumber ?? 0, r.severityText ?? '', r.eventName ?? '', r.flags ?? 0, r.droppedAttributesCount ?? 0, hex(r.traceId), hex(r.spanId), (r.attributes ?? []).map((a) => a.key ?? '')]),
      ),
    })),
  }));
}

interface Theirs {
  resourceLogs?: Array<{ resource?: { attributes?: Array<{ key?: string }> }; scopeLogs?: Array<{ scope?: { name?: string }; logRecords?: Array<Record<string, unknown>> }> }>;
}

function theirsOf(body: Uint8Array): Summary {
  const decoded = ExportLogsServiceRequestType.toObject(ExportLogsServiceRequestType.decode(body), { longs: String, enums: Number }) as Theirs;
  return (decoded.resourceLogs ?? []).map((rl) => ({
    resource: (rl.resource?.attributes ?? []).map((a) => a.key ?? ''),
    scopes: (rl.scopeLogs ?? []).map((sl) => ({
      name: sl.scope?.name ?? '',
      records: (sl.logRecords ?? []).map((r) =>
        JSON.stringify([r.timeUnixNano ?? '0', r.observedTimeUnixNano ?? '0', r.severityNumber ?? 0, r.severityText ?? '', r.eventName ?? '', r.flags ?? 0, r.droppedAttributesCount ?? 0, hex(r.traceId as Uint8Array), hex(r.spanId as Uint8Array), ((r.attributes as Array<{ key?: string }>) ?? []).map((a) => a.key ?? '')]),
      ),
    })),
  }));
}

type Outcome = { ok: true; value: Summary } | { ok: false; error: string };
const attempt = (decode: (b: Uint8Array) => Summary, body: Uint8Array): Outcome => {
  try {
    return { ok: true, value: decode(body) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
};

function seeds(): Uint8Array[] {
  const request = otlpRequest(
    [
      { eventName: 'user.login', body: 'hello', attributes: { 'user.id': 'u-1', n: 42, ok: true, ratio: 0.5 } },
      { eventName: 'a.b', severityNumber: 17, attributes: {} },
      {},
    ],
    { 'service.name': 'svc', 'tenant.id': 'acme' },
  );
  const records = request.resourceLogs[0]!.scopeLogs[0]!.logRecords as unknown as Array<Record<string, unknown>>;
  records[0]!.traceId = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
  records[0]!.spanId = Buffer.from('0102030405060708', 'hex');
  records[0]!.flags = 1;
  records[1]!.body = { kvlistValue: { values: [{ key: 'k', value: { arrayValue: { values: [{ intValue: '-5' }, { bytesValue: Buffer.from([1, 2]) }] } } }] } };
  return [encodeProtobuf(request), encodeProtobuf({ resourceLogs: [request.resourceLogs[0], request.resourceLogs[0]] }), encodeProtobuf(otlpRequest([{}]))];
}

function mutate(source: Uint8Array, random: () => number): Uint8Array {
  const bytes = Array.from(source);
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (bytes.length + 1));
    const kind = Math.floor(random() * 6);
    if (kind === 0 && bytes.length > 0) bytes[at % bytes.length] = Math.floor(random() * 256);
    else if (kind === 1 && bytes.length > 0) bytes[at % bytes.length] = bytes[at % bytes.length]! ^ (1 << Math.floor(random() * 8));
    else if (kind === 2) bytes.splice(at, 0, Math.floor(random() * 256));
    else if (kind === 3) bytes.splice(at, 1 + Math.floor(random() * 3));
    else if (kind === 4) bytes.length = Math.min(bytes.length, at);
    else bytes.splice(at, 0, ...[0x08, 0x10, 0x18, 0x1a, 0x22, 0x00, 0x7f, 0x80, 0xff][Math.floor(random() * 9)]!.toString(2).split('').map(() => Math.floor(random() * 256)));
  }
  return Uint8Array.from(bytes);
}

describe('the protobuf decoder against protobufjs', () => {
  it('makes the same decision, with the same records, on 12,000 seeded mutants', () => {
    const random = prng(20_240_611);
    const corpus = seeds();
    const mismatches: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 12_000; i++) {
      const body = mutate(corpus[i % corpus.length]!, random);
      const ours = attempt(oursOf, body);
      const theirs = attempt(theirsOf, body);
      if (ours.ok !== theirs.ok) mismatches.push(`${hex(body)}: ours ${ours.ok ? 'accepts' : `rejects (${ours.error})`}, protobufjs ${theirs.ok ? 'accepts' : `rejects (${theirs.error})`}`);
      else if (ours.ok && theirs.ok) {
        accepted += 1;
        if (JSON.stringify(ours.value) !== JSON.stringify(theirs.value)) mismatches.push(`${hex(body)}: different records`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(accepted).toBeGreaterThan(500); // the mutants exercise acceptance too (893 with this seed)
  });

  it('refuses field number 0 and a string that runs past its LogRecord; skips a known field with another wire type', () => {
    // resource_logs { scope_logs { log_records { field 0 varint } } }
    expect(() => decodeExportLogsRequest(Uint8Array.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x00, 0x01]))).toThrow(/field number 0/);
    // log_records { event_name len 5 } but the record is 2 bytes long; the next record's bytes follow
    const overrun = Uint8Array.from([0x0a, 0x0b, 0x12, 0x09, 0x12, 0x02, 0x62, 0x05, 0x12, 0x03, 0x62, 0x01, 0x61]);
    expect(() => ExportLogsServiceRequestType.decode(overrun)).toThrow();
    expect(() => decodeExportLogsRequest(overrun)).toThrow();
    // log_records { time_unix_nano (fixed64 field) sent as a varint }: skipped, as protobufjs does
    const mismatch = Uint8Array.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01]);
    expect(ExportLogsServiceRequestType.decode(mismatch)).toBeTruthy();
    expect(decodeExportLogsRequest(mismatch).resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!.timeUnixNano).toBeNull();
  });
});
