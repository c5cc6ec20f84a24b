/**
 * verify: checks the store against its checkpoints. For each collector, walks the
 * checkpoints in ingest_seq order (signature, chain, contiguity), and in bounded chunks of
 * about `chunkRows` rows compares the leaves with each checkpoint's Merkle root and every
 * stored row with its leaf. The engine does the heavy part: it hashes the rows itself
 * (leafSql()), joins them with their leaves and sends back counts and the ids of rows not
 * intact; Node reads only the leaves (RowBinary, 40 bytes a row) to rebuild the roots.
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

/** A range's leaves: ingest_seq ascending, and each one's hash. */
interface Leaves {
  seqs: number[];
  hashes: Buffer[];
}

/** RowBinary of (ingest_seq UInt64, leaf FixedString(32)). */
const LEAF_ROW_BYTES = 40;

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

  /**
   * The range's leaves, one per ingest_seq, as RowBinary (seq, leaf: 40 bytes a row). Two
   * copies of a leaf (a replayed load) count once; two different leaves for one row are a
   * break (a leaf was added).
   */
  private async leaves(collector: string, after: number, through: number): Promise<Leaves> {
    const result = await this.client.exec({
      query: `SELECT ingest_seq, leaf FROM ${this.database}.event_leaves
              WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}
              ORDER BY ingest_seq, leaf FORMAT RowBinary`,
      query_params: { c: collector, a: after, b: through },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    const seqs: number[] = [];
    const hashes: Buffer[] = [];
    for (let at = 0; at + LEAF_ROW_BYTES <= data.length; at += LEAF_ROW_BYTES) {
      const seq = data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 4_294_967_296;
      const leaf = data.subarray(at + 8, at + LEAF_ROW_BYTES);
      const last = seqs.length - 1;
      if (last >= 0 && seqs[last] === seq) {
        if (!hashes[last]!.equals(leaf)) this.report.chain_breaks.push({ collector_id: collector, at_seq: seq, problem: 'two different leaves for one row (a leaf was added)' });
        continue;
      }
      seqs.push(seq);
      hashes.push(leaf);
    }
    return { seqs, hashes };
  }

  private async verifyChunk(chunk: Chunk): Promise<void> {
    const { collector, after, through } = chunk;
    const { seqs, hashes } = await this.leaves(collector, after, through);
    // The engine compares the rows while this thread rebuilds the roots.
    const comparing = this.compareRows(collector, after, through);
    comparing.catch(() => undefined); // awaited below
    // Each checkpoint's leaves against its root; leaves between checkpoints are covered by none.
    const grace = (this.options.leafGraceDays ?? 400) * 86_400_000;
    let uncovered = 0;
    let at = 0;
    const skip = (below: number) => {
      for (; at < seqs.length && seqs[at]! < below; at++) {
        if (uncovered++ < MAX_IDS) this.report.chain_breaks.push({ collector_id: collector, at_seq: seqs[at]!, problem: 'a leaf no checkpoint covers (its checkpoint was deleted)' });
      }
    };
    for (const c of chunk.checkpoints) {
      skip(c.from_seq);
      const start = at;
      while (at < seqs.length && seqs[at]! <= c.to_seq) at++;
      const mine = at - start;
      if (mine < c.count && Date.parse(c.created_at) + grace < this.now) continue; // its leaves may have expired
      const root = merkleRoot(hashes.slice(start, at)).toString('hex');
      if (mine !== c.count || root !== c.merkle_root) {
        this.report.chain_breaks.push({
          collector_id: collector,
          at_seq: c.from_seq,
          problem: `the leaves of checkpoint ${c.from_seq}..${c.to_seq} do not give its root (${mine} of ${c.count} leaves): leaves deleted, added or altered`,
        });
      }
    }
    skip(Number.POSITIVE_INFINITY);
    await comparing;
    await this.absentRows(collector, after, through);
  }

  private tenantFilter(alias: string): string {
    return this.options.tenant !== undefined ? `AND ${alias}.tenant_id = {t:String}` : '';
  }

  private params(collector: string, after: number, through: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { c: collector, a: after, b: through, ...(this.options.tenant !== undefined ? { t: this.options.tenant } : {}), ...extra };
  }

  /**
   * Every stored row of the range against its leaf, in the engine: it hashes each row
   * (leafSql) and compares it with the row's leaf and its expiry with the leaf's, and sends
   * back only counts and the ids of rows not intact (copies of a leaf, from a replayed
   * load, are the same leaf: any one will do). Of several rows with one ingest_seq,
   * one matching its leaf (or, if none does, the one with the leaf's event_id) is checked
   * against it and the others are injected.
   */
  private async compareRows(collector: string, after: number, through: number, pendingThrough = 0): Promise<void> {
    const db = this.database;
    const range = 'collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}';
    // Ranking rows that share an ingest_seq costs the engine a sort; an untouched store has none.
    const shared = await this.rows<[string]>(
      `SELECT ingest_seq FROM ${db}.events AS e WHERE ${range} ${this.tenantFilter('e')} GROUP BY ingest_seq HAVING count() > 1 LIMIT 1`,
      this.params(collector, after, through),
    );
    const rank = shared.length > 0 ? 'row_number() OVER (PARTITION BY seq ORDER BY ok DESC, same_id DESC)' : '1';
    const rows = await this.rows<[string, string, string[]]>(
      `SELECT status, toString(count()), groupArray(${MAX_IDS})(event_id)
       FROM (
         SELECT event_id, multiIf((NOT found) OR rank > 1, if(seq <= {p:UInt64}, 'pending', 'injected'), ok, 'intact', 'altered') AS status
         FROM (
           SELECT seq, event_id, found, ok, ${rank} AS rank
           FROM (
             SELECT e.ingest_seq AS seq, e.event_id AS event_id, l.found AS found, (e.event_id = l.leaf_event_id) AS same_id,
                    (l.found AND ${leafSql('e', 'l.leaf_retention')} = l.first_leaf
                      AND toDateTime(e.occurred_at) + toIntervalDay(e.retention_days) = l.leaf_expires) AS ok
             FROM ${db}.events AS e
             ANY LEFT JOIN (SELECT ingest_seq, event_id AS leaf_event_id, retention_days AS leaf_retention,
                                   expires_at AS leaf_expires, leaf AS first_leaf, toUInt8(1) AS found
                            FROM ${db}.event_leaves
                            WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}) AS l
               ON e.ingest_seq = l.ingest_seq
             WHERE e.collector_id = {c:String} AND e.ingest_seq > {a:UInt64} AND e.ingest_seq <= {b:UInt64} ${this.tenantFilter('e')}
           )
         )
       )
       GROUP BY status`,
      this.params(collector, after, through, { p: pendingThrough }),
    );
    this.countRows(rows);
  }

  private countRows(rows: ReadonlyArray<[string, string, string[]]>): void {
    for (const [status, countText, ids] of rows) {
      const count = Number(countText);
      this.report.rows_checked += count;
      if (status === 'intact') this.report.rows_intact += count;
      else if (status === 'pending') this.report.rows_pending += count;
      else if (status === 'altered') this.listed('altered', count, ids);
      else this.listed('injected', count, ids);
    }
  }

  /**
   * Leaves of the range with no stored row: expired once their expires_at has passed
   * (counted in the engine), else collapsed when a row with the same tenant and event_id is
   * stored, else missing.
   */
  private async absentRows(collector: string, after: number, through: number): Promise<void> {
    const db = this.database;
    const range = 'collector_id = {c:String} AND ingest_seq > {a:UInt64} AND ingest_seq <= {b:UInt64}';
    const [row] = await this.rows<[string, Array<[string, string, string]>]>(
      `SELECT toString(uniqExactIf(ingest_seq, expires <= {now:UInt32})), groupArrayIf((ingest_seq, tenant_id, event_id), expires > {now:UInt32})
       FROM (SELECT ingest_seq, event_id, tenant_id, toUnixTimestamp(expires_at) AS expires
             FROM ${db}.event_leaves AS l WHERE ${range} ${this.tenantFilter('l')}) AS l
       LEFT ANTI JOIN (SELECT DISTINCT ingest_seq FROM ${db}.events AS e WHERE ${range} ${this.tenantFilter('e')}) AS e
         ON l.ingest_seq = e.ingest_seq`,
      this.params(collector, after, through, { now: Math.floor(this.now / 1000) }),
    );
    if (!row) return;
    this.report.rows_expired += Number(row[0]);
    // A leaf written twice (a replayed load) counts once.
    const live = [...new Map(row[1].map(([seq, tenant, id]) => [seq, [tenant, id] as const])).values()];
    if (live.length === 0) return;
    const present = await this.rows<[string, string]>(
      `SELECT DISTINCT tenant_id, event_id FROM ${db}.events WHERE event_id IN {ids:Array(String)}`,
      { ids: [...new Set(live.map(([, id]) => id))] },
    );
    const stored = new Set(present.map(([t, id]) => `${t}\u0000${id}`));
    for (const [tenant, id] of live) {
      if (stored.has(`${tenant}\u0000${id}`)) this.report.rows_collapsed += 1;
      else this.listed('missing', 1, [id]);
    }
  }

  /** Rows and leaves past the last checkpoint: pending when a running loader is sealing them, else injected / a break. */
  private async verifyTail(collector: string, last: Checkpoint | undefined): Promise<void> {
    if (last && !this.inWindow(last) && this.options.toMs !== undefined && Date.parse(last.created_at) >= this.options.toMs) return;
    const after = last?.to_seq ?? 0;
    const pending = this.options.pending?.collectorId === collector ? this.options.pending.throughSeq : after;
    const [orphans] = await this.rows<[string, string]>(
      `SELECT toString(uniqExact(ingest_seq)), toString(min(ingest_seq)) FROM ${this.database}.event_leaves
       WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64}`,
      { c: collector, a: Math.max(after, pending) },
    );
    if (orphans && Number(orphans[0]) > 0) {
      this.report.chain_breaks.push({ collector_id: collector, at_seq: Number(orphans[1]), problem: `${orphans[0]} leaves after the last checkpoint (checkpoints deleted at the end)` });
    }
    // No checkpoint covers these rows: none is intact, whatever leaves they have.
    const rows = await this.rows<[string, string, string[]]>(
      `SELECT if(ingest_seq <= {p:UInt64}, 'pending', 'injected') AS status, toString(count()), groupArray(${MAX_IDS})(event_id)
       FROM ${this.database}.events AS e
       WHERE collector_id = {c:String} AND ingest_seq > {a:UInt64} ${this.tenantFilter('e')}
       GROUP BY status`,
      this.params(collector, after, Number.MAX_SAFE_INTEGER, { p: pending }),
    );
    this.countRows(rows);
  }

  /** Counts `count` problems of a kind, listing ids up to MAX_IDS of each. */
  private listed(kind: 'altered' | 'missing' | 'injected', count: number, ids: ReadonlyArray<string>): void {
    const list = kind === 'altered' ? this.report.rows_altered : kind === 'missing' ? this.report.rows_missing : this.report.rows_injected;
    for (const id of ids) if (list.length < MAX_IDS) list.push(id);
    this.counts[kind] += count;
  }
}

function rowObject(row: unknown): CheckpointRow {
  const [collector_id, from_seq, to_seq, count, merkle_root, prev_hash, created_ms, key_id, signature] = row as string[];
  return { collector_id: collector_id!, from_seq: from_seq!, to_seq: to_seq!, count: count!, merkle_root: merkle_root!, prev_hash: prev_hash!, created_ms: created_ms!, key_id: key_id!, signature: signature! };
}
