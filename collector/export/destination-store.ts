/** Destinations made through the admin API, persisted in ClickHouse so they survive restarts. */
import type { ClickHouseClient } from '@clickhouse/client';

export interface StoredDestination {
  id: string;
  /** The destination as validated input (snake_case config form, header values included). */
  spec: Record<string, unknown>;
  createdAt: string;
}

export class DestinationStore {
  private lastVersion = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async list(): Promise<StoredDestination[]> {
    const result = await this.client.query({
      query: `SELECT id, argMax(spec, version) AS spec, argMax(deleted, version) AS deleted, toString(min(created_at)) AS created_at
              FROM ${this.database}.destinations GROUP BY id HAVING deleted = 0 ORDER BY created_at, id`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ id: string; spec: string; created_at: string }>();
    return rows.map((r) => ({ id: r.id, spec: JSON.parse(r.spec) as Record<string, unknown>, createdAt: `${r.created_at.replace(' ', 'T')}Z` }));
  }

  /** A strictly increasing version, so the latest write of an id always wins. */
  private version(): number {
    this.lastVersion = Math.max(Date.now() * 1000, this.lastVersion + 1);
    return this.lastVersion;
  }

  async save(id: string, spec: Record<string, unknown>, createdAt: string, deleted = false): Promise<void> {
    await this.client.insert({
      table: `${this.database}.destinations`,
      values: [{ id, spec: JSON.stringify(spec), deleted: deleted ? 1 : 0, version: this.version(), created_at: createdAt.replace('T', ' ').replace('Z', '') }],
      format: 'JSONEachRow',
    });
  }
}
