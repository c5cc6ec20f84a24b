/**
 * Prometheus metrics (prom-client, a registry of our own). Ingest and the store count as
 * they go; export figures are read from the workers when scraped.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly ingestRecords = new Counter({
    name: 'audit_sidecar_ingest_records_total',
    help: 'Records received, by source format and outcome (accepted or rejected).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly ingestRejections = new Counter({
    name: 'audit_sidecar_ingest_rejections_total',
    help: 'Records rejected, by source format and reason.',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestFailedRequests = new Counter({
    name: 'audit_sidecar_ingest_failed_requests_total',
    help: 'Ingest requests answered with an error, by source format and HTTP status.',
    labelNames: ['source', 'status'] as const,
    registers: [this.registry],
  });

  readonly ingestLogAppends = new Histogram({
    name: 'audit_sidecar_ingest_log_frame_rows',
    help: 'Rows per ingest-log write (one fdatasync each).',
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000],
    registers: [this.registry],
  });

  readonly commitRows = new Histogram({
    name: 'audit_sidecar_store_commit_rows',
    help: 'Rows per loader insert into ClickHouse.',
    buckets: [1, 10, 100, 1000, 2500, 5000, 10000, 20000, 50000, 100000],
    registers: [this.registry],
  });

  readonly commitSeconds = new Histogram({
    name: 'audit_sidecar_store_commit_seconds',
    help: 'Time of one loader insert into ClickHouse.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly commitFailures = new Counter({
    name: 'audit_sidecar_store_commit_failures_total',
    help: 'Loader inserts that failed (the events wait in the ingest log and are retried).',
    registers: [this.registry],
  });

  readonly apiRequestSeconds = new Histogram({
    name: 'audit_sidecar_api_request_seconds',
    help: 'API request durations, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'audit_sidecar_' });
  }

  /** A gauge whose values are read when scraped. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (set: (labels: Record<L, string>, value: number) => void) => Promise<void> | void): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await read((labels, value) => this.set(labels as never, value));
      },
    });
  }
}
