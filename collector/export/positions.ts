/** Each destination's export position in this collector's ingest sequence, persisted. */
import type { ClickHouseClient } from '@clickhouse/client';

export class PositionStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly collectorId: string,
  ) {}

  /** The last acknowledged position, or undefined when this destination never exported. */
  async load(destinationId: string): Promise<number | undefined> {
    const result = await this.client.query({
      query: `SELECT toString(argMax(position, updated_at)) AS position, count() AS n
              FROM ${this.database}.export_positions
              WHERE destination_id = {id:String} AND collector_id = {collector:String}`,
      query_params: { id: destinationId, collector: this.collectorId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ position: string; n: number | string }>();
    return row && Number(row.n) > 0 ? Number(row.position) : undefined;
  }

  async save(destinationId: string, position: number): Promise<void> {
    await this.client.insert({
      table: `${this.database}.export_positions`,
      values: [{ destination_id: destinationId, collector_id: this.collectorId, position }],
      format: 'JSONEachRow',
    });
  }
}
