/**
 * Per-event proofs: the row in canonical form, its leaf, its RFC 6962 audit path and the
 * signed checkpoint whose root the path leads to. verifyProof() needs nothing but the
 * proof and a trusted public key (README: the same check as a short script).
 */
import type { KeyObject } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { CANONICAL_COLUMNS, canonicalRowOf, type ProofRow } from './canonical.js';
import { checkpointText, signatureValid, type Checkpoint } from './checkpoint.js';
import { inclusionPath, leafHash, verifyInclusion } from './merkle.js';
import { checkpointOfRow, type CheckpointRow } from './sealer.js';

export interface EventProof {
  version: 1;
  /** Every contract column; retention_days as the leaf hashed it (at load). */
  row: ProofRow;
  /** retention_days as stored now (retention apply and holds change it). */
  current_retention_days: number;
  leaf: string;
  leaf_index: number;
  tree_size: number;
  path: string[];
  checkpoint: Checkpoint;
  /** The checkpoint's signed text, for reference. */
  signed_text: string;
}

/** The row's columns as a proof carries them: times as nanoseconds, maps as [key, value] pairs. */
const ROW_SELECT = CANONICAL_COLUMNS.map(({ name, type }) => {
  if (type.startsWith('DateTime64')) return `toString(toUnixTimestamp64Nano(${name})) AS ${name}`;
  if (type.startsWith('Map(')) return `arrayZip(mapKeys(${name}), mapValues(${name})) AS ${name}`;
  if (type === 'UInt64') return `toString(${name}) AS ${name}`;
  return name;
}).join(', ');

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** The proof of a stored event (in `tenant` when given), or undefined when it has none. */
export async function buildProof(client: ClickHouseClient, database: string, eventId: string, tenant: string | undefined): Promise<EventProof | undefined> {
  const tenantSql = tenant !== undefined ? 'AND tenant_id = {t:String}' : '';
  const params = { id: eventId, ...(tenant !== undefined ? { t: tenant } : {}) };
  const stored = await rows<ProofRow & { current_retention_days: number }>(
    client,
    `SELECT ${ROW_SELECT}, retention_days AS current_retention_days FROM ${database}.events WHERE event_id = {id:String} ${tenantSql} ORDER BY ingest_seq LIMIT 1`,
    params,
  );
  const row = stored[0];
  if (!row) return undefined;
  const [leafRow] = await rows<{ retention_days: number }>(
    client,
    `SELECT retention_days FROM ${database}.event_leaves WHERE collector_id = {c:String} AND ingest_seq = {s:UInt64} LIMIT 1`,
    { c: row.collector_id, s: row.ingest_seq },
  );
  const [checkpointRow] = await rows<CheckpointRow>(
    client,
    `SELECT collector_id, from_seq, to_seq, count, merkle_root, prev_hash, toUnixTimestamp64Milli(created_at) AS created_ms, key_id, signature
     FROM ${database}.checkpoints WHERE collector_id = {c:String} AND from_seq <= {s:UInt64} AND to_seq >= {s:UInt64} ORDER BY to_seq LIMIT 1`,
    { c: row.collector_id, s: row.ingest_seq },
  );
  if (!leafRow || !checkpointRow) return undefined;
  const checkpoint = checkpointOfRow(checkpointRow);
  const leafRows = await rows<{ s: string; leaf: string }>(
    client,
    `SELECT toString(ingest_seq) AS s, lower(hex(leaf)) AS leaf FROM ${database}.event_leaves
     WHERE collector_id = {c:String} AND ingest_seq >= {a:UInt64} AND ingest_seq <= {b:UInt64} ORDER BY ingest_seq`,
    { c: checkpoint.collector_id, a: checkpoint.from_seq, b: checkpoint.to_seq },
  );
  const seqs: string[] = [];
  const leaves: Buffer[] = [];
  for (const l of leafRows) {
    if (seqs[seqs.length - 1] === l.s) continue; // a replay's copy, not merged yet
    seqs.push(l.s);
    leaves.push(Buffer.from(l.leaf, 'hex'));
  }
  const index = seqs.indexOf(String(row.ingest_seq));
  const { current_retention_days: current, ...columns } = row;
  const canonical: ProofRow = { ...columns, retention_days: Number(leafRow.retention_days) };
  return {
    version: 1,
    row: canonical,
    current_retention_days: Number(current),
    leaf: leaves[index]!.toString('hex'),
    leaf_index: index,
    tree_size: leaves.length,
    path: inclusionPath(leaves, index).map((p) => p.toString('hex')),
    checkpoint,
    signed_text: checkpointText(checkpoint),
  };
}

export interface ProofCheck {
  ok: boolean;
  problems: string[];
}

/** Checks a proof with trusted public keys only (by key_id). */
export function verifyProof(proof: EventProof, publicKeys: ReadonlyMap<string, KeyObject>): ProofCheck {
  const problems: string[] = [];
  let leaf: Buffer;
  try {
    leaf = leafHash(canonicalRowOf(proof.row));
  } catch (error) {
    return { ok: false, problems: [`the row cannot be serialized: ${(error as Error).message}`] };
  }
  if (leaf.toString('hex') !== proof.leaf) problems.push('the row does not hash to the leaf: the row was modified');
  const c = proof.checkpoint;
  if (proof.tree_size !== c.count) problems.push(`tree_size ${proof.tree_size} is not the checkpoint's count ${c.count}`);
  if (!verifyInclusion(leaf, proof.leaf_index, c.count, proof.path.map((p) => Buffer.from(p, 'hex')), Buffer.from(c.merkle_root, 'hex'))) {
    problems.push("the audit path does not lead from the row's leaf to the checkpoint's root");
  }
  if (!publicKeys.has(c.key_id)) problems.push(`no trusted public key with key_id ${c.key_id}`);
  else if (!signatureValid(c, publicKeys.get(c.key_id))) problems.push('the checkpoint signature does not verify');
  if (String(proof.row.ingest_seq) !== '' && (Number(proof.row.ingest_seq) < c.from_seq || Number(proof.row.ingest_seq) > c.to_seq)) {
    problems.push('the row is outside the checkpoint\'s range');
  }
  return { ok: problems.length === 0, problems };
}
