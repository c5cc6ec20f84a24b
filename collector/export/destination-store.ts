/**
 * Destinations made through the admin API, persisted in ClickHouse so they survive restarts.
 * Header values are sealed (export/secrets.ts) before they are written and never stored in
 * clear; each save erases the id's older versions, so a deleted destination (a tombstone
 * without its spec) leaves no secret behind, and a re-sealed one no stale copy.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { secretBox } from './secrets.js';

export interface StoredDestination {
  id: string;
  /** The destination as validated input (snake_case config form, header values included). */
  spec: Record<string, unknown>;
  createdAt: string;
}

type Headers = Record<string, string>;

const headersOf = (spec: Record<string, unknown>): Headers => (spec.headers ?? {}) as Headers;
const context = (id: string, name: string) => `destination ${id} header ${name.toLowerCase()}`;

export class DestinationStore {
  private lastVersion = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /** The live destinations, header values opened; values sealed under a previous key are sealed again. */
  async list(): Promise<StoredDestination[]> {
    const result = await this.client.query({
      query: `SELECT id, argMax(spec, version) AS spec, argMax(deleted, version) AS deleted, toString(min(created_at)) AS created_at
              FROM ${this.database}.destinations GROUP BY id HAVING deleted = 0 ORDER BY created_at, id`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ id: string; spec: string; created_at: string }>();
    const destinations: StoredDestination[] = [];
    for (const row of rows) {
      const stored = JSON.parse(row.spec) as Record<string, unknown>;
      let stale = false;
      const headers: Headers = {};
      for (const [name, value] of Object.entries(headersOf(stored))) {
        const opened = secretBox().open(value, context(row.id, name));
        headers[name] = opened.value;
        stale ||= opened.stale;
      }
      const destination = { id: row.id, spec: { ...stored, headers }, createdAt: `${row.created_at.replace(' ', 'T')}Z` };
      if (stale) await this.save(destination.id, destination.spec, destination.createdAt);
      destinations.push(destination);
    }
    return destinations;
  }

  /** A strictly increasing version, so the latest write of an id always wins. */
  private version(): number {
    this.lastVersion = Math.max(Date.now() * 1000, this.lastVersion + 1);
    return this.lastVersion;
  }

  async save(id: string, spec: Record<string, unknown>, createdAt: string, deleted = false): Promise<void> {
    const sealed = deleted
      ? {} // a tombstone keeps nothing of the destination
      : { ...spec, headers: Object.fromEntries(Object.entries(headersOf(spec)).map(([name, value]) => [name, secretBox().seal(value, context(id, name))])) };
    const version = this.version();
    await this.client.insert({
      table: `${this.database}.destinations`,
      values: [{ id, spec: JSON.stringify(sealed), deleted: deleted ? 1 : 0, version, created_at: createdAt.replace('T', ' ').replace('Z', '') }],
      format: 'JSONEachRow',
    });
    // Older versions hold older (or, from before sealing, clear) values: erase them now rather than at some merge.
    await this.client.command({
      query: `ALTER TABLE ${this.database}.destinations DELETE WHERE id = {id:String} AND version < {version:UInt64}`,
      query_params: { id, version },
      clickhouse_settings: { mutations_sync: '1' },
    });
  }
}
