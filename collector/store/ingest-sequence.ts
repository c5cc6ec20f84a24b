/**
 * The per-collector ingest_seq as the store knows it. The ingest log numbers rows and
 * keeps the newest number; the store's highest covers a log that is new or was lost, so
 * numbers are never reused: the highest stored row, and the highest number recorded in
 * {database}.ingest_sequence (at each clean stop, and by earlier versions' reservations).
 */
import type { ClickHouseClient } from '@clickhouse/client';

export const IngestSequence = {
  async highestUsed(client: ClickHouseClient, database: string, collectorId: string): Promise<number> {
    const result = await client.query({
      query: `SELECT
          toString((SELECT max(ingest_seq) FROM ${database}.events WHERE collector_id = {id:String})) AS stored,
          toString((SELECT max(reserved_through) FROM ${database}.ingest_sequence WHERE collector_id = {id:String})) AS reserved`,
      query_params: { id: collectorId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ stored: string; reserved: string }>();
    return Math.max(Number(row?.stored ?? 0), Number(row?.reserved ?? 0));
  },

  async record(client: ClickHouseClient, database: string, collectorId: string, through: number): Promise<void> {
    await client.insert({
      table: `${database}.ingest_sequence`,
      values: [{ collector_id: collectorId, reserved_through: through }],
      format: 'JSONEachRow',
    });
  },
};
