/**
 * Runs one export loop per destination, each a reader of the ingest log at its own
 * position: those from the config file, and those made through the admin API (persisted
 * in ClickHouse). Owns the export connection (reads of rows older than the log), so
 * exports never queue behind the loader or readers.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { SidecarConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { closeClients, openClient } from '../store/clickhouse-client.js';
import type { EventStore } from '../store/event-store.js';
import { apiDestinationSchema, toDestination, type Destination } from './destination.js';
import { DestinationStore } from './destination-store.js';
import { PositionStore } from './positions.js';
import { RowReader } from './row-reader.js';
import { Sender, type SendOutcome } from './sender.js';
import { assertPublicEndpoint } from './ssrf.js';
import type { ExportStatus } from './worker.js';
import { ExportThread, type RemoteExportWorker } from './export-thread-client.js';
import { encodeExportRequest } from './otlp-encoder.js';

export interface ExportEntry {
  destination: Destination;
  source: 'config' | 'api';
  createdAt: string | undefined;
  /** API-made destinations: the validated input, header values included. */
  spec: Record<string, unknown> | undefined;
  /** The destination's export loop, which runs on the export thread. */
  worker: RemoteExportWorker;
  /** For test sends from the API (the loop has its own sender on the export thread). */
  sender: Sender;
}

/** A field-level problem with a destination, answered as 400. */
export class DestinationInvalidError extends Error {
  constructor(readonly problems: Array<{ field: string; message: string }>) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

export class DestinationConflictError extends Error {}

const MASK = '***';

export class ExportService {
  private readonly entries = new Map<string, ExportEntry>();
  private stopped = false;

  private constructor(
    private readonly client: ClickHouseClient,
    private readonly config: SidecarConfig,
    private readonly store: EventStore,
    private readonly reader: RowReader,
    private readonly positions: PositionStore,
    private readonly destinations: DestinationStore,
    private readonly exportThread: ExportThread,
    private readonly log: Logger,
  ) {}

  static async start(config: SidecarConfig, store: EventStore, log: Logger): Promise<ExportService> {
    const client = openClient(config.store, 'audit-sidecar-export');
    const reader = new RowReader(client, config.store.database, config.collectorId);
    const positions = new PositionStore(client, config.store.database, config.collectorId, store.log.directory);
    const service = new ExportService(
      client,
      config,
      store,
      reader,
      positions,
      new DestinationStore(client, config.store.database),
      new ExportThread(reader, positions, log, store),
      log,
    );
    try {
      for (const destination of config.destinations) {
        let start = await service.positions.load(destination.id);
        if (start === undefined) {
          start = destination.startFrom === 'earliest' ? 0 : store.durableSeq;
          await service.positions.save(destination.id, start);
        }
        service.run({ destination, source: 'config', createdAt: undefined, spec: undefined }, start);
      }
      for (const stored of await service.destinations.list()) {
        const destination = service.fromSpec(stored.id, stored.spec);
        const start = (await service.positions.load(stored.id)) ?? store.durableSeq;
        service.run({ destination, source: 'api', createdAt: stored.createdAt, spec: stored.spec }, start);
      }
    } catch (error) {
      await service.stop();
      throw error;
    }
    return service;
  }

  private get publicOnly(): boolean {
    return !this.config.api?.allowPrivateDestinations;
  }

  private fromSpec(id: string, spec: Record<string, unknown>): Destination {
    const parsed = apiDestinationSchema.parse(spec);
    return toDestination(id, { ...parsed, start_from: 'end' }, parsed.name);
  }

  private run(entry: Omit<ExportEntry, 'worker' | 'sender'>, start: number, exportedBefore = 0): ExportEntry {
    const { destination } = entry;
    const publicOnly = entry.source === 'api' && this.publicOnly;
    const sender = new Sender(destination, publicOnly);
    const worker = this.exportThread.worker(destination, publicOnly, start, exportedBefore);
    const full = { ...entry, worker, sender };
    this.entries.set(destination.id, full);
    worker.start();
    const fields = { destination: destination.id, endpoint: destination.endpoint, header_names: Object.keys(destination.headers), position: start };
    if (destination.enabled) this.log.info('exporting', fields);
    else this.log.info('destination disabled: not exporting', fields);
    return full;
  }

  private async halt(entry: ExportEntry): Promise<void> {
    await entry.worker.stop();
    await entry.sender.close();
  }

  /** Reads of ClickHouse made for export loops since start; loops inside the ingest log need none. */
  get storeReads(): number {
    return this.exportThread.storeReads;
  }

  list(): ExportEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): ExportEntry | undefined {
    return this.entries.get(id);
  }

  /** Validates API input; checks the endpoint's addresses unless private ones are allowed. */
  private async validate(input: Record<string, unknown>): Promise<{ spec: Record<string, unknown>; startFrom: string }> {
    const parsed = apiDestinationSchema.safeParse(input);
    if (!parsed.success) {
      throw new DestinationInvalidError(
        parsed.error.issues.map((issue) => ({
          field: issue.path.join('.') || '(body)',
          message: issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message,
        })),
      );
    }
    if (this.publicOnly) {
      try {
        await assertPublicEndpoint(parsed.data.endpoint);
      } catch (error) {
        throw new DestinationInvalidError([{ field: 'endpoint', message: (error as Error).message }]);
      }
    }
    // Stored as given (defaults re-apply when read); where it starts matters only now.
    const { start_from: _startFrom, ...spec } = input;
    return { spec, startFrom: parsed.data.start_from };
  }

  /** Where a new destination starts: the current end, the beginning, or the first row received at/after a time. */
  private async startPosition(startFrom: string): Promise<number> {
    if (startFrom === 'earliest') return 0;
    if (startFrom === 'end') return this.store.durableSeq;
    await this.store.readable(10_000); // the rows received since then must be in ClickHouse to be found
    const result = await this.client.query({
      query: `SELECT toString(min(ingest_seq)) AS seq, count() AS n FROM ${this.config.store.database}.events
              WHERE collector_id = {c:String} AND received_at >= parseDateTime64BestEffort({t:String}, 9)`,
      query_params: { c: this.config.collectorId, t: startFrom },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ seq: string; n: number | string }>();
    return row && Number(row.n) > 0 ? Number(row.seq) - 1 : this.store.durableSeq;
  }

  async create(input: Record<string, unknown>): Promise<ExportEntry> {
    const { spec, startFrom } = await this.validate(input);
    const id = `dst_${randomBytes(6).toString('hex')}`;
    const createdAt = new Date().toISOString();
    const start = await this.startPosition(startFrom);
    await this.positions.save(id, start);
    await this.destinations.save(id, spec, createdAt);
    return this.run({ destination: this.fromSpec(id, spec), source: 'api', createdAt, spec }, start);
  }

  /** Applies a partial update; header values sent back masked keep their stored value. */
  async update(id: string, patch: Record<string, unknown>): Promise<ExportEntry> {
    const entry = this.requireApiEntry(id);
    const previous = entry.spec!;
    const merged: Record<string, unknown> = { ...previous, ...patch };
    if (patch.headers !== undefined && typeof patch.headers === 'object' && patch.headers !== null) {
      const old = (previous.headers ?? {}) as Record<string, string>;
      merged.headers = Object.fromEntries(
        Object.entries(patch.headers as Record<string, unknown>).map(([name, value]) => [name, value === MASK && name in old ? old[name] : value]),
      );
    }
    delete merged.start_from;
    const { spec } = await this.validate(merged);
    await this.destinations.save(id, spec, entry.createdAt!);
    await this.halt(entry);
    // Same position: an update changes how events are sent, not which.
    return this.run({ destination: this.fromSpec(id, spec), source: 'api', createdAt: entry.createdAt, spec }, entry.worker.status.position, entry.worker.status.exported_records);
  }

  async remove(id: string): Promise<void> {
    const entry = this.requireApiEntry(id);
    await this.destinations.save(id, entry.spec!, entry.createdAt!, true);
    this.entries.delete(id);
    await this.halt(entry);
  }

  private requireApiEntry(id: string): ExportEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new DestinationConflictError(`no destination ${id}`);
    if (entry.source !== 'api') throw new DestinationConflictError(`destination ${id} is defined in the config file; change it there`);
    return entry;
  }

  /** Sends one synthetic record and returns the receiver's answer. */
  async test(entry: ExportEntry): Promise<SendOutcome> {
    const now = `${Date.now()}000000`;
    const body = encodeExportRequest(
      [
        {
          seq: 0, event_id: `test-${randomBytes(8).toString('hex')}`, tenant_id: entry.destination.tenant ?? 'default', occurred_ns: now,
          event_type: 'audit_sidecar.destination_test', action: 'other', outcome: 'success', actor_id: '', actor_name: '', actor_email: '',
          actor_type: 'system', client_ip: '', user_agent: '', team_id: '', project_id: '', resource_type: 'destination',
          resource_id: entry.destination.id, resource_name: entry.destination.name, request_method: '', request_url: '',
          message: 'audit-sidecar destination test', changes: '{}', metadata: '{}', attributes: {}, resource_attributes: {},
          service_name: 'audit-sidecar', severity_text: 'INFO', severity_number: 9, trace_id: '', span_id: '', source: 'test', raw: '',
        },
      ],
      entry.destination.encoding,
    );
    return entry.sender.send(body, AbortSignal.timeout(entry.destination.timeoutMs));
  }

  /**
   * The loop's status; lag_records counts the rows it has yet to send: those in ClickHouse
   * through its filter, plus every row acknowledged but not yet loaded.
   */
  async status(entry: ExportEntry): Promise<ExportStatus & { lag_records: number }> {
    const d = entry.destination;
    const position = entry.worker.status.position;
    const loaded = this.store.committedSeq;
    const unloaded = Math.max(0, this.store.durableSeq - Math.max(position, loaded));
    let lag = 0;
    try {
      lag = position < loaded ? await this.reader.count(position, loaded, { tenant: d.tenant, eventTypes: d.eventTypes }) : 0;
    } catch {
      lag = Math.max(0, loaded - position);
    }
    return { ...entry.worker.status, lag_records: lag + unloaded };
  }

  /** Ends every worker (abandoning requests in flight), then the connection. Safe twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.entries.values()].map((e) => this.halt(e)));
    this.entries.clear();
    await this.exportThread.close();
    await closeClients([this.client], this.config.store.endpoint);
  }
}

