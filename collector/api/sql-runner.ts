/**
 * Runs analysts' SQL: checked by the engine's parser on a connection of its own, then run
 * with the limits on another. A connection on which a statement failed is replaced before
 * the next one: chDB handed the next result on that session the failed query's leftover
 * rows first (after `SELECT number FROM numbers(200000)` failed on the row limit,
 * `SELECT 5` answered 65,410 rows).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { checkAnalystSql, type AnalystSqlPolicy } from '../store/analyst-sql.js';

export interface SqlLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
  maxMemoryBytes: number;
}

type Role = 'parser' | 'runner';

export class SqlRunner {
  private readonly clients: Record<Role, ClickHouseClient>;

  constructor(
    private readonly open: (role: Role) => ClickHouseClient,
    private readonly policy: AnalystSqlPolicy,
    private readonly limits: SqlLimits,
  ) {
    this.clients = { parser: open('parser'), runner: open('runner') };
  }

  /** Throws AnalystSqlError for a statement analysts may not run, the engine's error for one that fails. */
  async run(sql: string): Promise<Array<Record<string, unknown>>> {
    const statement = await this.on('parser', (client) => checkAnalystSql(client, sql, this.policy));
    return this.on('runner', async (client) => {
      const result = await client.query({
        query: statement,
        format: 'JSONEachRow',
        clickhouse_settings: {
          max_execution_time: this.limits.maxExecutionSeconds,
          max_result_rows: String(this.limits.maxResultRows),
          result_overflow_mode: 'throw',
          max_memory_usage: String(this.limits.maxMemoryBytes),
          readonly: '1',
        },
      });
      return result.json<Record<string, unknown>>();
    });
  }

  private async on<T>(role: Role, work: (client: ClickHouseClient) => Promise<T>): Promise<T> {
    const client = this.clients[role];
    try {
      return await work(client);
    } catch (error) {
      if (this.clients[role] === client) {
        this.clients[role] = this.open(role);
        await client.close().catch(() => {});
      }
      throw error;
    }
  }

  get connections(): ClickHouseClient[] {
    return Object.values(this.clients);
  }
}
