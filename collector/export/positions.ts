/** Each destination's export position in this collector's ingest sequence, persisted. */
import type { ClickHouseClient } from '@clickhouse/client';

export class PositionStore {
  /** Per destination: the save running now, and the newest position waiting to be saved. */
  private readonly saving = new Map<string, { running: Promise<void>; next: number | undefined }>();

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

  /**
   * Records an acknowledged position without making the sender wait: saves run one at a
   * time per destination, and positions acknowledged during a save are coalesced into the
   * next one. flush() waits for the newest to be written.
   */
  saveSoon(destinationId: string, position: number, onError: (error: Error) => void): void {
    const current = this.saving.get(destinationId);
    if (current) {
      current.next = position;
      return;
    }
    const state: { running: Promise<void>; next: number | undefined } = { running: Promise.resolve(), next: undefined };
    const loop = async (first: number) => {
      let pending: number | undefined = first;
      while (pending !== undefined) {
        state.next = undefined;
        try {
          await this.save(destinationId, pending);
        } catch (error) {
          onError(error as Error);
        }
        pending = state.next;
      }
      this.saving.delete(destinationId);
    };
    this.saving.set(destinationId, state);
    state.running = loop(position);
  }

  async flush(destinationId: string): Promise<void> {
    await this.saving.get(destinationId)?.running;
  }

  async save(destinationId: string, position: number): Promise<void> {
    await this.client.insert({
      table: `${this.database}.export_positions`,
      values: [{ destination_id: destinationId, collector_id: this.collectorId, position }],
      format: 'JSONEachRow',
    });
  }
}
