/**
 * Rows go to ClickHouse as Native blocks written by our own encoder, and export reads them
 * back as RowBinary with our own reader: every kind of value must make the round trip
 * through the real engine exactly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { silentLogger } from '../collector/log.js';
import { closeClients, openClient } from '../collector/store/clickhouse-client.js';
import { SPOOL_PREFIX, spoolBase } from '../collector/store/embedded-connection.js';
import { insertBlocks } from '../collector/store/insert-blocks.js';
import { migrate } from '../collector/store/migrations.js';
import { NativeWriter } from '../collector/store/native-writer.js';
import { indexNativeBlocks, readNativeColumn } from '../collector/store/native-reader.js';
import { exportRowsOf } from '../collector/export/log-tail.js';
import { readRows, RowReader } from '../collector/export/row-reader.js';
import { RowBinaryReader } from '../collector/store/row-binary-reader.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import { filterNativeBlock } from '../collector/store/native-filter.js';
import type { AuditEvent } from '../schemas/audit-event.js';
import { tempDir, testConfig } from './support/sidecar.js';

const config = testConfig({ dataDir: tempDir() });
let client: ClickHouseClient;

/** Spool directories as a crashed sidecar and a running one leave them. */
const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
const staleSpool = join(spoolBase(), `${SPOOL_PREFIX}${deadPid}-test`);
const liveSpool = join(spoolBase(), `${SPOOL_PREFIX}${process.ppid}-test`);

beforeAll(async () => {
  for (const dir of [staleSpool, liveSpool]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'insert-1.native'), 'rows');
  }
  client = openClient(config.store, 'native-encoding-test');
  await migrate(client, config.store, silentLogger);
});

afterAll(async () => {
  await closeClients([client], config.store.endpoint);
  rmSync(liveSpool, { recursive: true, force: true });
});

/** Now, in ns, with a sub-millisecond part: the engine drops rows already past their TTL. */
const NOW_NS = `${Date.now()}123456`;

function event(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    event_id: 'e', tenant_id: 't', occurred_at: NOW_NS, received_at: `${Date.now()}987654`,
    event_type: 'user.login', action: 'login', outcome: 'success', actor_id: 'u', actor_name: '', actor_email: '',
    actor_type: 'user', client_ip: '', user_agent: '', team_id: '', project_id: '', resource_type: '', resource_id: '',
    resource_name: '', request_method: '', request_url: '', message: '', changes: '{}', metadata: '{}', attributes: {},
    resource_attributes: {}, service_name: '', severity_text: '', severity_number: 0, trace_id: '', span_id: '',
    source: 'otlp', raw: '{}', retention_days: 90, ...overrides,
  };
}

type StoredRow = Omit<AuditEvent, 'occurred_at' | 'received_at'> & { occurred_ns: string; received_ns: string; seq: string; collector_id: string };

async function stored(tenant: string): Promise<StoredRow[]> {
  const result = await client.query({
    query: `SELECT * EXCEPT (occurred_at, received_at), toString(toUnixTimestamp64Nano(occurred_at)) AS occurred_ns,
              toString(toUnixTimestamp64Nano(received_at)) AS received_ns, toString(ingest_seq) AS seq
            FROM audit.events WHERE tenant_id = {tenant:String} ORDER BY ingest_seq`,
    query_params: { tenant },
    format: 'JSONEachRow',
  });
  return result.json<StoredRow>();
}

describe('Native blocks', () => {
  it('store every kind of text, map, number and time exactly', async () => {
    const multibyte41 = 'é'.repeat(41); // 41 chars, 82 bytes: the one-byte length path with non-ASCII text
    const events = [
      event({ event_id: 'ascii', tenant_id: 'native', message: 'plain', actor_name: 'x'.repeat(41) }),
      event({
        event_id: 'unicode-😀',
        tenant_id: 'native',
        message: multibyte41,
        actor_name: 'ü'.repeat(42), // first string long enough for a computed length
        user_agent: 'a'.repeat(127),
        request_url: 'b'.repeat(128), // two-byte varint length
        raw: `{"big":"${'ß€😀'.repeat(40_000)}"}`, // ~360 KB: three-byte varint length
        changes: '{"a":"tab\\there, newline\\n, backslash \\\\"}',
        metadata: 'text with real \t tab, \n newline, \\ backslash, \u0000 NUL',
        attributes: { 'ключ': 'значение', '': 'empty key', 'k\tt': 'v\nv', __proto__: 'kept' } as Record<string, string>,
        resource_attributes: { 'service.name': 'svc' },
        severity_number: 24,
        retention_days: 365,
        occurred_at: '4102444800000000001', // 2100, past 2^53 ns
      }),
      event({ event_id: 'empty-maps', tenant_id: 'native', attributes: {}, resource_attributes: {} }),
    ];
    Object.defineProperty(events[1]!.attributes, '__proto__', { value: 'kept', enumerable: true });
    const firstSeq = 2 ** 40 + 5; // beyond 32 bits
    await insertBlocks(client, 'audit', [encodeRows(events, firstSeq, 'collector-ü').buffer], 30_000);
    const rows = await stored('native');
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      const { occurred_at, received_at, occurred_at_is_receive_time: _, ...expected } = events[i]!;
      expect(row).toMatchObject({ ...expected, attributes: { ...events[i]!.attributes }, collector_id: 'collector-ü' });
      expect(row.occurred_ns).toBe(occurred_at);
      expect(row.received_ns).toBe(received_at);
      expect(row.seq).toBe(String(firstSeq + i));
    });
  });

  it('several requests\u2019 blocks go in one insert, and a block can be re-encoded without some rows', async () => {
    const first = encodeRows([event({ event_id: 'a', tenant_id: 'multi' })], 100, 'c');
    const batch = [event({ event_id: 'b', tenant_id: 'multi', occurred_at_is_receive_time: true }), event({ event_id: 'c', tenant_id: 'multi' })];
    const second = encodeRows(batch, 101, 'c', (e) => e.occurred_at_is_receive_time === true);
    expect(second.checkRows).toEqual([0]);
    const withoutB = filterNativeBlock(second.buffer, indexNativeBlocks(second.buffer)[0]!, (i) => i !== 0);
    expect(filterNativeBlock(second.buffer, indexNativeBlocks(second.buffer)[0]!, () => false)).toHaveLength(0);
    await insertBlocks(client, 'audit', [first.buffer, withoutB], 30_000);
    const rows = await stored('multi');
    expect(rows.map((r) => [r.event_id, r.seq])).toEqual([['a', '100'], ['c', '102']]);
  });

  it('takes more blocks in one insert than one write call passes (300 one-row requests)', async () => {
    const blocks = Array.from({ length: 300 }, (_, i) => encodeRows([event({ event_id: `many-${i}`, tenant_id: 'many' })], 1000 + i, 'c').buffer);
    await insertBlocks(client, 'audit', blocks, 30_000);
    const rows = await stored('many');
    expect(rows.map((r) => r.event_id)).toEqual(Array.from({ length: 300 }, (_, i) => `many-${i}`));
  });

  it('reads the RowBinary the engine writes (export reads rows this way)', async () => {
    const result = await client.exec({
      query: `SELECT toUInt64(pow(2, 40) + 5), 'é😀', repeat('x', 200), map('k', 'v', '__proto__', 'kept', '', ''), toUInt8(200), ''
              FORMAT RowBinary`,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const r = new RowBinaryReader(Buffer.concat(chunks));
    expect(r.uint64()).toBe(2 ** 40 + 5);
    expect(r.string()).toBe('é😀');
    expect(r.string()).toBe('x'.repeat(200));
    const map = r.stringMap();
    expect(Object.keys(map)).toEqual(['k', '__proto__', '']);
    expect(map['__proto__']).toBe('kept');
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(r.uint8()).toBe(200);
    expect(r.string()).toBe('');
    expect(r.done).toBe(true);
    expect(() => new RowBinaryReader(Buffer.from([5, 0x61])).string()).toThrow(RangeError);
  });

  it('gives export the same rows from a commit’s blocks as from the store', async () => {
    const events = [
      event({ event_id: 'tail-1', tenant_id: 'tail', message: 'é😀'.repeat(30), attributes: { 'ключ': 'значение', '': 'e' }, resource_attributes: { 'service.name': 's' } }),
      event({ event_id: 'tail-2', tenant_id: 'tail', raw: `{"big":"${'x'.repeat(70_000)}"}`, severity_number: 17, occurred_at: '4102444800000000001', trace_id: 'ab'.repeat(16) }),
      event({ event_id: 'tail-3', tenant_id: 'tail', user_agent: 'a'.repeat(127), request_url: 'b'.repeat(128), changes: '{"a":{"old":1,"new":2}}' }),
    ];
    Object.defineProperty(events[0]!.attributes, '__proto__', { value: 'kept', enumerable: true });
    const blocks = [encodeRows(events.slice(0, 2), 2 ** 40, 'tail-c').buffer, encodeRows(events.slice(2), 2 ** 40 + 2, 'tail-c').buffer];
    await insertBlocks(client, 'audit', blocks, 30_000);
    const fromStore = readRows(await new RowReader(client, 'audit', 'tail-c').readRaw(0, 2 ** 41, 100, { tenant: undefined, eventTypes: undefined }));
    // Rows from blocks decode their fields when read: compare field by field.
    const fromBlocks = exportRowsOf(Buffer.concat(blocks)).map((row) => Object.fromEntries(Object.keys(fromStore[0]!).map((k) => [k, row[k as keyof typeof row]])));
    expect(fromStore).toHaveLength(3);
    expect(fromBlocks).toEqual(fromStore);
    expect((fromBlocks[0]!.attributes as Record<string, string>)['__proto__']).toBe('kept');
    const index = indexNativeBlocks(Buffer.concat(blocks));
    expect(index.map((b) => b.rows)).toEqual([2, 1]);
    expect(readNativeColumn(Buffer.concat(blocks), index[1]!.columns.get('raw')!, 1)).toEqual([events[2]!.raw]);
    expect(() => indexNativeBlocks(blocks[0]!.subarray(0, blocks[0]!.length - 1))).toThrow(/ends in the middle/);
  });

  it('removes the insert files a crashed process left, and no one else\u2019s', () => {
    // The inserts above made this connection's spool directory, sweeping the base first.
    expect(existsSync(staleSpool)).toBe(false);
    expect(existsSync(join(liveSpool, 'insert-1.native'))).toBe(true);
  });

  it('writes minimal varint lengths', () => {
    const w = new NativeWriter(4);
    w.varUInt(0);
    w.varUInt(127);
    w.varUInt(128);
    w.varUInt(16_384);
    w.string('é');
    expect([...w.finish()]).toEqual([0x00, 0x7f, 0x80, 0x01, 0x80, 0x80, 0x01, 0x02, 0xc3, 0xa9]);
  });
});
