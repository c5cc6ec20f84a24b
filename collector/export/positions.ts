/**
 * Each destination's export position in this collector's ingest sequence, persisted twice:
 * in ClickHouse (beside the data, for a sidecar that moves) and in a file beside the ingest
 * log, which is written even while ClickHouse is down; a load takes the further of the two.
 * Export reads the log during a store outage, and without the file a restart then would
 * resend everything delivered since the outage began.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';

const POSITIONS_FILE = 'export-positions.json';

export class PositionStore {
  /** Per destination: the save running now, and the newest position waiting to be saved. */
  private readonly saving = new Map<string, { running: Promise<void>; next: number | undefined }>();
  /** Every destination's newest acknowledged position, as the local file holds it. */
  private readonly local: Record<string, number>;
  private localWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly collectorId: string,
    /** The ingest log's directory: the local file lives there. */
    private readonly directory: string,
  ) {
    this.local = PositionStore.readLocal(join(directory, POSITIONS_FILE));
  }

  private static readLocal(file: string): Record<string, number> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null) return {};
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'number' && Number.isSafeInteger(v))) as Record<string, number>;
    } catch {
      return {}; // none yet, or unreadable: ClickHouse's copy stands
    }
  }

  /** Writes the local file (atomically: a new file renamed over the old one); writes run one at a time. */
  private saveLocal(destinationId: string, position: number): Promise<void> {
    this.local[destinationId] = Math.max(this.local[destinationId] ?? 0, position);
    this.localWrite = this.localWrite.catch(() => undefined).then(async () => {
      const file = join(this.directory, POSITIONS_FILE);
      await writeFile(`${file}.tmp`, JSON.stringify(this.local));
      await rename(`${file}.tmp`, file);
    });
    return this.localWrite;
  }

  /** The last acknowledged position, or undefined when this destination never exported. */
  async load(destinationId: string): Promise<number | undefined> {
    const stored = await this.loadStored(destinationId);
    const local = this.local[destinationId];
    if (stored === undefined) return local;
    return local === undefined ? stored : Math.max(stored, local);
  }

  private async loadStored(destinationId: string): Promise<number | undefined> {
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

  /** Saves both copies; either failing is reported, the other is still written. */
  async save(destinationId: string, position: number): Promise<void> {
    const results = await Promise.allSettled([
      this.saveLocal(destinationId, position),
      this.client.insert({
        table: `${this.database}.export_positions`,
        values: [{ destination_id: destinationId, collector_id: this.collectorId, position }],
        format: 'JSONEachRow',
      }),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
