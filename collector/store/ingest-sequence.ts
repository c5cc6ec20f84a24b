/**
 * The per-collector ingest_seq. Numbers are handed out in commit order and reserved in
 * blocks in {database}.ingest_sequence before use, so after a restart the sequence
 * continues above every number ever committed, even if TTL has removed those rows.
 * A clean stop records the last number used, so the next start continues without a gap;
 * after a crash the sequence resumes above the reserved block (a visible gap, no reuse).
 * A failed insert never gives its numbers back: it may have committed after all.
 */
import type { ClickHouseClient } from '@clickhouse/client';

const RESERVATION_BLOCK = 1_000_000;

export class IngestSequence {
  private constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly collectorId: string,
    private next: number,
    private reservedThrough: number,
    /** Highest ingest_seq stored when the sequence was loaded. */
    readonly storedThrough: number,
  ) {}

  static async load(client: ClickHouseClient, database: string, collectorId: string): Promise<IngestSequence> {
    const result = await client.query({
      query: `SELECT
          toString((SELECT max(ingest_seq) FROM ${database}.events WHERE collector_id = {id:String})) AS stored,
          toString((SELECT argMax(reserved_through, (reserved_at, reserved_through))
                    FROM ${database}.ingest_sequence WHERE collector_id = {id:String})) AS reserved`,
      query_params: { id: collectorId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ stored: string; reserved: string }>();
    const highest = Math.max(Number(row?.stored ?? 0), Number(row?.reserved ?? 0));
    // Everything up to `highest` may have been used: start above it and reserve afresh.
    return new IngestSequence(client, database, collectorId, highest + 1, highest, Number(row?.stored ?? 0));
  }

  /**
   * Hands out `count` consecutive numbers and returns the first. Synchronous, so numbers
   * follow the order requests are queued in; their reservation is made durable by
   * ensureReserved() before any row using them is inserted.
   */
  take(count: number): number {
    const first = this.next;
    this.next += count;
    return first;
  }

  /** Records a reservation covering `through` (and a block beyond) if not yet covered. */
  async ensureReserved(through: number): Promise<void> {
    if (through <= this.reservedThrough) return;
    const reserved = through + RESERVATION_BLOCK;
    await this.record(reserved);
    this.reservedThrough = reserved;
  }

  /** On a clean stop (nothing in flight): the last number handed out becomes the reservation. */
  async close(): Promise<void> {
    if (this.next - 1 !== this.reservedThrough) {
      await this.record(this.next - 1);
      this.reservedThrough = this.next - 1;
    }
  }

  private async record(through: number): Promise<void> {
    await this.client.insert({
      table: `${this.database}.ingest_sequence`,
      values: [{ collector_id: this.collectorId, reserved_through: through }],
      format: 'JSONEachRow',
    });
  }

  /** The number the next committed row will get (for status and tests). */
  peek(): number {
    return this.next;
  }
}
