/**
 * verify: checks the store against its checkpoints. For each collector, walks the
 * checkpoints in ingest_seq order (signature, chain, contiguity), and in bounded chunks of
 * about `chunkRows` rows compares the leaves with each checkpoint's Merkle root and every
 * stored row with its leaf (ClickHouse hashes the rows itself: leafSql()).
 *
 * A row with no leaf is injected; a leaf with no row is expired when its expires_at has
 * passed, collapsed when another row with the same tenant and event_id is stored (the
 * table's deduplication of a resent event), missing otherwise.
 */
import type { KeyObject } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { leafSql } from './canonical.js';
import { checkpointHash, GENESIS_HASH, signatureValid, type Checkpoint } from './checkpoint.js';
import { merkleRoot } from './merkle.js';
import { checkpointOfRow, type CheckpointRow } from './sealer.js';

export interface VerifyOptions {
  /** Checkpoints created from/to (epoch ms), and the rows they cover. */
  fromMs?: number;
  toMs?: number;
  tenant?: string;
  publicKeys: ReadonlyMap<string, KeyObject>;
  /** Rows of this collector up to this seq may not be sealed yet (a running loader is sealing them). */
  pending?: { collectorId: string; throughSeq: number };
  chunkRows?: number;
  /** Leaves are kept this long past their row's expiry; a checkpoint older than that may have lost leaves. */
  leafGraceDays?: number;
  now?: number;
}

export interface VerifyReport {
  ok: boolean;
  checkpoints_checked: number;
  rows_checked: number;
  rows_intact: number;
  rows_altered: string[];
  rows_missing: string[];
  rows_expired: number;
  rows_collapsed: number;
  rows_injected: string[];
  rows_pending: number;
  signatures_invalid: Array<{ collector_id: string; to_seq: number; key_id: string }>;
  chain_breaks: Array<{ collector_id: string; at_seq: number; problem: string }>;
  seconds: number;
  rows_per_second: number;
}

/** Id lists are capped; the counts are not. */
const MAX_IDS = 1000;

interface Leaf {
  seq: number;
  eventId: string;
  tenant: string;
  expiresAt: number;
  leaf: string;
}

interface Chunk {
  collector: string;
  /** Rows with after < ingest_seq <= through. */
  after: number;
  through: number;
  checkpoints: Checkpoint[];
}

export class Verifier {
  private readonly report: VerifyReport = {
    ok: false, checkpoints_checked: 0, rows_checked: 0, rows_intact: 0, rows_altered: [], rows_missing: [], rows_expired: 0,
    rows_collapsed: 0, rows_injected: [], rows_pending: 0, signatures_invalid: [], chain_breaks: [], seconds: 0, rows_per_second: 0,
  };
  private counts = { altered: 0, missing: 0, injected: 0 };
  private readonly now: number;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly options: VerifyOptions,
  ) {
    this.now = options.now ?? Date.now();
  }

  async run(): Promise<VerifyReport> {
    const started = performance.now();
    for (const collector of await this.collectors()) await this.verifyCollector(collector);
    const r = this.report;
    r.seconds = (performance.now() - started) / 1000;
    r.rows_per_second = Math.round(r.rows_checked / Math.max(r.seconds, 0.001));
    r.ok = this.counts.altered + this.counts.missing + this.counts.injected + r.signatures_invalid.length + r.chain_breaks.length === 0;
    return r;
  }

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const result = await this.client.query({ query, query_params: params, format: 'JSONCompactEachRow' });
    return result.json<T>();
  }

  private async collectors(): Promise<string[]> {
    const db = this.database;
    const rows = await this.rows<[string]>(
      `SELECT DISTINCT collector_id FROM (SELECT DISTINCT collector_id FROM ${db}.checkpoints UNION ALL SELECT DISTINCT collector_id FROM ${db}.events
       UNION ALL SELECT DISTINCT collector_id FROM ${db}.event_leaves) ORDER BY collector_id`,
      {},
    );
    return rows.map((r) => String(r[0]));
  }

  private inWindow(c: Checkpoint): boolean {
    const at = Date.parse(c.created_at);
    return (this.options.fromMs === undefined || at >= this.options.fromMs) && (this.options.toMs === undefined || at < this.options.toMs);
  }

  private async verifyCollector(collector: string): Promise<void> {
    const chunkRows = this.options.chunkRows ?? 100_000;
    let prev: Checkpoint | undefined;
    let after = 0;
    for (;;) {
      const page = (await this.rows<CheckpointRow>(
        `SELECT collector_id, from_seq, to_seq, count, merkle_root, prev_hash, toUnixTimestamp64Milli(created_at), key_id, signature
         FROM ${this.database}.checkpoints WHERE collector_id = {c:String} AND to_seq > {a:UInt64} ORDER BY to_seq LIMIT 10000`,
        { c: collector, a: prev?.to_seq ?? 0 },
      )).map((row) => checkpointOfRow(rowObject(row)));
      if (page.length === 0) break;
      let chunk: Chunk = { collector, after, through: after, checkpoints: [] };
      let rows = 0;
      for (const c of page) {
        this.checkCheckpoint(c, prev);
        prev = c;
        if (this.inWindow(c)) {
          if (chunk.checkpoints.length === 0) chunk.after = after;
          chunk.checkpoints.push(c);
          chunk.through = c.to_seq;
          rows += c.count;
        } else if (chunk.checkpoints.length > 0) {
          await this.verifyChunk(chunk);
          chunk = { collector, after: c.to_seq, through: c.to_seq, checkpoints: [] };
          rows = 0;
        }
        after = c.to_seq;
        if (rows >= chunkRows) {
          await this.verifyChunk(chunk);
          chunk = { collector, after, through: after, checkpoints: [] };
          rows = 0;
        }
      }
      if (chunk.checkpoints.length > 0) await this.verifyChunk(chunk);
    }
    await this.verifyTail(collector, prev);
  }

  private checkCheckpoint(c: Checkpoint, prev: Checkpoint | undefined): void {
    this.report.checkpoints_checked += 1;
    if (!signatureValid(c, this.options.publicKeys.get(c.key_id))) {
      this.report.signatures_invalid.push({ collector_id: c.collector_id, to_seq: c.to_seq, key_id: c.key_id });
    }
    const expected = prev ? checkpointHash(prev) : GENESIS_HASH;
    if (c.prev_hash !== expected) {
      this.report.chain_breaks.push({
        collector_id: c.collector_id,
        at_seq: c.from_seq,
        problem: prev ? `prev_hash does not match the checkpoint through ${prev.to_seq} (one deleted or altered between them)` : 'the first checkpoint kept does not start the chain (earlier ones deleted)',
      });
    } else if (prev && c.from_seq <= prev.to_seq) {
      this.report.chain_breaks.push({ collector_id: c.collector_id, at_seq: c.from_seq, problem: `overlaps the checkpoint through ${prev.to_seq}` });
    }
  }

  private async leaves(collector: string, after: number, through: number): Promise<Leaf[]> {
    const rows = await this.rows<[string, string, string, string, string]>(
      `SELECT ingest_seq, event_id, tenant_id, toUnixTimestamp(expires_at), hex(leaf) FROM ${this.database}.event_leaves
       WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64} ORDER BY ingest_seq`,
      { c: collector, a: after, b: through },
    );
    const leaves: Leaf[] = [];
    for (const [seq, eventId, tenant, expires, leaf] of rows) {
      const n = Number(seq);
      // A replayed load wrote the same leaf again until the table merges them.
      if (leaves.length > 0 && leaves[leaves.length - 1]!.seq === n) continue;
      leaves.push({ seq: n, eventId, tenant, expiresAt: Number(expires) * 1000, leaf: leaf.toLowerCase() });
    }
    return leaves;
  }

  private async verifyChunk(chunk: Chunk): Promise<void> {
    const { collector, after, through } = chunk;
    const leaves = await this.leaves(collector, after, through);
    // Each checkpoint's leaves against its root.
    let at = 0;
    const covered = new Set<number>();
    for (const c of chunk.checkpoints) {
      while (at < leaves.length && leaves[at]!.seq < c.from_seq) at++;
      const start = at;
      while (at < leaves.length && leaves[at]!.seq <= c.to_seq) covered.add(leaves[at++]!.seq);
      const mine = leaves.slice(start, at);
      const grace = (this.options.leafGraceDays ?? 400) * 86_400_000;
      if (mine.length < c.count && Date.parse(c.created_at) + grace < this.now) continue; // its leaves may have expired
      const root = merkleRoot(mine.map((l) => Buffer.from(l.leaf, 'hex'))).toString('hex');
      if (mine.length !== c.count || root !== c.merkle_root) {
        this.report.chain_breaks.push({
          collector_id: collector,
          at_seq: c.from_seq,
          problem: `the leaves of checkpoint ${c.from_seq}..${c.to_seq} do not give its root (${mine.length} of ${c.count} leaves): leaves deleted, added or altered`,
        });
      }
    }
    for (const l of leaves) {
      if (!covered.has(l.seq)) this.report.chain_breaks.push({ collector_id: collector, at_seq: l.seq, problem: 'a leaf no checkpoint covers (its checkpoint was deleted)' });
    }
    await this.compareRows(collector, after, through, leaves);
  }

  /** Every stored row of the range against its leaf, and every leaf against its row. */
  private async compareRows(collector: string, after: number, through: number, leaves: Leaf[], pendingThrough = 0): Promise<void> {
    const db = this.database;
    const tenant = this.options.tenant;
    const rows = await this.rows<[string, string, string, string, number]>(
      `SELECT e.ingest_seq, e.event_id, e.tenant_id, hex(${leafSql('e', 'l.retention_days')}),
              toDateTime(e.occurred_at) + toIntervalDay(e.retention_days) = l.expires_at
       FROM ${db}.events AS e
       ANY LEFT JOIN (SELECT ingest_seq, retention_days, expires_at FROM ${db}.event_leaves
                      WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}) AS l
         ON e.ingest_seq = l.ingest_seq
       WHERE e.collector_id = {c:String} AND e.ingest_seq > {a:UInt64} AND e.ingest_seq <= {b:UInt64}
         ${tenant !== undefined ? 'AND e.tenant_id = {t:String}' : ''}`,
      { c: collector, a: after, b: through, ...(tenant !== undefined ? { t: tenant } : {}) },
    );
    const bySeq = new Map<number, Leaf>();
    for (const l of leaves) bySeq.set(l.seq, l);
    const seen = new Set<number>();
    for (const [seqText, eventId, , hash, retentionOk] of rows) {
      const seq = Number(seqText);
      this.report.rows_checked += 1;
      const leaf = bySeq.get(seq);
      if (!leaf || seen.has(seq)) {
        if (seq <= pendingThrough) this.report.rows_pending += 1;
        else this.injected(eventId);
        continue;
      }
      seen.add(seq);
      if (hash.toLowerCase() === leaf.leaf && Number(retentionOk) === 1) this.report.rows_intact += 1;
      else this.altered(eventId);
    }
    const absent = leaves.filter((l) => !seen.has(l.seq) && (tenant === undefined || l.tenant === tenant));
    if (absent.length === 0) return;
    const live = absent.filter((l) => l.expiresAt > this.now);
    this.report.rows_expired += absent.length - live.length;
    if (live.length === 0) return;
    const present = await this.rows<[string, string]>(
      `SELECT DISTINCT tenant_id, event_id FROM ${db}.events WHERE event_id IN {ids:Array(String)}`,
      { ids: [...new Set(live.map((l) => l.eventId))] },
    );
    const stored = new Set(present.map(([t, id]) => `${t}\u0000${id}`));
    for (const l of live) {
      if (stored.has(`${l.tenant}\u0000${l.eventId}`)) this.report.rows_collapsed += 1;
      else this.missing(l.eventId);
    }
  }

  /** Rows and leaves past the last checkpoint: pending when a running loader is sealing them, else injected / a break. */
  private async verifyTail(collector: string, last: Checkpoint | undefined): Promise<void> {
    if (last && !this.inWindow(last) && this.options.toMs !== undefined && Date.parse(last.created_at) >= this.options.toMs) return;
    const after = last?.to_seq ?? 0;
    const pending = this.options.pending?.collectorId === collector ? this.options.pending.throughSeq : after;
    const leaves = await this.leaves(collector, after, Number.MAX_SAFE_INTEGER);
    const orphan = leaves.filter((l) => l.seq > pending);
    if (orphan.length > 0) {
      this.report.chain_breaks.push({ collector_id: collector, at_seq: orphan[0]!.seq, problem: `${orphan.length} leaves after the last checkpoint (checkpoints deleted at the end)` });
    }
    await this.compareRows(collector, after, Number.MAX_SAFE_INTEGER, [], pending);
  }

  private injected(id: string): void {
    if (this.counts.injected++ < MAX_IDS) this.report.rows_injected.push(id);
  }
  private altered(id: string): void {
    if (this.counts.altered++ < MAX_IDS) this.report.rows_altered.push(id);
  }
  private missing(id: string): void {
    if (this.counts.missing++ < MAX_IDS) this.report.rows_missing.push(id);
  }
}

function rowObject(row: unknown): CheckpointRow {
  const [collector_id, from_seq, to_seq, count, merkle_root, prev_hash, created_ms, key_id, signature] = row as string[];
  return { collector_id: collector_id!, from_seq: from_seq!, to_seq: to_seq!, count: count!, merkle_root: merkle_root!, prev_hash: prev_hash!, created_ms: created_ms!, key_id: key_id!, signature: signature! };
}
