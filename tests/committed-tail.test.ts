/**
 * The export thread's copy of the newest commits: it answers a read only when its chain of
 * commits covers the whole range asked for, and then exactly as the store would.
 */
import { describe, expect, it } from 'vitest';
import { CommittedTail } from '../collector/export/committed-tail.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import type { AuditEvent } from '../schemas/audit-event.js';

const ALL = { tenant: undefined, eventTypes: undefined };

function event(n: number, tenant = 'acme', eventType = 'user.login'): AuditEvent {
  return {
    event_id: `e${n}`, tenant_id: tenant, occurred_at: `${Date.now()}000000`, received_at: `${Date.now()}000000`,
    event_type: eventType, action: 'login', outcome: 'success', actor_id: 'u', actor_name: '', actor_email: '',
    actor_type: 'user', client_ip: '', user_agent: '', team_id: '', project_id: '', resource_type: '', resource_id: '',
    resource_name: '', request_method: '', request_url: '', message: `event ${n}`, changes: '{}', metadata: '{}', attributes: {},
    resource_attributes: {}, service_name: '', severity_text: '', severity_number: 0, trace_id: '', span_id: '',
    source: 'otlp', raw: '{}', retention_days: 90,
  };
}

/** A commit of the rows numbered first..last (one request per 10 rows), as the store publishes it. */
function commit(first: number, last: number, make = (n: number) => event(n)) {
  const blocks: Buffer[] = [];
  for (let from = first; from <= last; from += 10) {
    const to = Math.min(last, from + 9);
    blocks.push(encodeRows(Array.from({ length: to - from + 1 }, (_, i) => make(from + i)), from, 'c').buffer);
  }
  return { range: { afterSeq: first - 1, lastSeq: last }, data: Buffer.concat(blocks) };
}

const seqs = (rows: Array<{ seq: number }> | undefined) => rows?.map((r) => r.seq);

describe('committed tail', () => {
  it('serves reads inside its chain of commits, in order, bounded by through and limit', () => {
    const tail = new CommittedTail(1 << 20);
    for (const c of [commit(1, 25), commit(26, 40)]) tail.add(c.range, c.data);
    expect(tail.range).toEqual({ afterSeq: 0, lastSeq: 40 });
    expect(seqs(tail.read(0, 40, 1000, ALL))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(seqs(tail.read(23, 28, 1000, ALL))).toEqual([24, 25, 26, 27, 28]);
    expect(seqs(tail.read(10, 40, 3, ALL))).toEqual([11, 12, 13]);
    expect(tail.read(40, 40, 10, ALL)).toEqual([]);
    expect(tail.read(5, 41, 10, ALL)).toBeUndefined(); // past what it holds
    const row = tail.read(0, 1, 1, ALL)![0]!;
    expect(row).toMatchObject({ seq: 1, event_id: 'e1', tenant_id: 'acme', message: 'event 1', attributes: {} });
  });

  it('filters by tenant and event type like the store read', () => {
    const tail = new CommittedTail(1 << 20);
    const c = commit(1, 30, (n) => event(n, n % 2 ? 'acme' : 'globex', n % 3 ? 'user.login' : 'user.logout'));
    tail.add(c.range, c.data);
    expect(seqs(tail.read(0, 30, 100, { tenant: 'globex', eventTypes: undefined }))).toEqual(Array.from({ length: 15 }, (_, i) => 2 * (i + 1)));
    expect(seqs(tail.read(0, 30, 100, { tenant: 'acme', eventTypes: ['user.logout'] }))).toEqual([3, 9, 15, 21, 27]);
    expect(tail.read(0, 30, 100, { tenant: 'nobody', eventTypes: undefined })).toEqual([]); // covered: nothing there
  });

  it('starts its chain again after a gap, since a failed commit may still have stored rows', () => {
    const tail = new CommittedTail(1 << 20);
    const [a, b] = [commit(1, 10), commit(21, 30)]; // 11..20: a commit that failed
    tail.add(a.range, a.data);
    tail.add(b.range, b.data);
    expect(tail.range).toEqual({ afterSeq: 20, lastSeq: 30 });
    expect(tail.read(5, 30, 100, ALL)).toBeUndefined();
    expect(tail.read(10, 30, 100, ALL)).toBeUndefined();
    expect(seqs(tail.read(20, 30, 100, ALL))).toHaveLength(10);
    tail.clear();
    expect(tail.read(20, 30, 100, ALL)).toBeUndefined();
  });

  it('keeps a commit whose rows were all duplicates as covered and empty', () => {
    const tail = new CommittedTail(1 << 20);
    const a = commit(1, 10);
    tail.add(a.range, a.data);
    tail.add({ afterSeq: 10, lastSeq: 15 }, Buffer.alloc(0));
    expect(seqs(tail.read(0, 15, 100, ALL))).toHaveLength(10);
    expect(tail.read(10, 15, 100, ALL)).toEqual([]);
  });

  it('refuses data that does not check out, keeping what it had', () => {
    const tail = new CommittedTail(1 << 20);
    const a = commit(1, 10);
    tail.add(a.range, a.data);
    const b = commit(11, 20);
    expect(() => tail.add(b.range, b.data.subarray(0, b.data.length - 3))).toThrow(/ends in the middle/);
    expect(() => tail.add(b.range, b.data, { data: Buffer.alloc(4), lengths: new Uint32Array(9) })).toThrow(/received lengths/);
    expect(tail.range).toEqual({ afterSeq: 0, lastSeq: 10 });
    tail.add(b.range, b.data, { data: Buffer.from([1, 2, 3]), lengths: Uint32Array.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0]) });
    expect(tail.read(10, 12, 10, ALL)!.map((r) => r.wire && [...r.wire])).toEqual([[1, 2, 3], undefined]);
  });

  it('drops the oldest commits past its size, keeping the newest', () => {
    const first = commit(1, 50);
    const tail = new CommittedTail(first.data.length + 10);
    tail.add(first.range, first.data);
    const second = commit(51, 100);
    tail.add(second.range, second.data);
    expect(tail.range).toEqual({ afterSeq: 50, lastSeq: 100 });
    expect(tail.read(0, 100, 10, ALL)).toBeUndefined();
    expect(seqs(tail.read(50, 100, 1, ALL))).toEqual([51]);
  });
});
