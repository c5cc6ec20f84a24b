/**
 * Export jobs run in the background, one at a time, paging through the store in bounded
 * chunks (the same text as the synchronous export). A job's state is on disk, so after a
 * restart a queued or interrupted job runs again from the start (its range is fixed at
 * creation), or fails with the reason when it no longer can. Finished jobs and their
 * files are removed `keep` after they finish.
 */
import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import type { Principal } from '../../auth/tokens.js';
import type { Logger } from '../../log.js';
import { exportText } from '../events/export-body.js';
import { parseFilter } from '../events/filter.js';
import type { EventQueries } from '../events/queries.js';
import { JobFiles, type ExportJob } from './job-files.js';
import type { ExportLimits, JobRequest } from './job-request.js';

export interface ExportJobsOptions extends ExportLimits {
  directory: string;
  keepMs: number;
  pageRows: number;
}

/** A job's attempts after which a restart no longer starts it again. */
const MAX_ATTEMPTS = 3;
const SWEEP_MS = 60_000;

class Stopped extends Error {}

export class ExportJobs {
  private readonly files: JobFiles;
  private readonly jobs = new Map<string, ExportJob>();
  private readonly queue: string[] = [];
  private running: { id: string; cancelled: boolean } | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    private readonly queries: EventQueries,
    private readonly options: ExportJobsOptions,
    private readonly log: Logger,
  ) {
    this.files = new JobFiles(options.directory);
  }

  static async start(queries: EventQueries, options: ExportJobsOptions, log: Logger): Promise<ExportJobs> {
    const jobs = new ExportJobs(queries, options, log);
    await jobs.recover();
    jobs.sweeper = setInterval(() => void jobs.sweep(), SWEEP_MS).unref();
    jobs.kick();
    return jobs;
  }

  /** Jobs left queued or running by the last process run again, or fail saying why. */
  private async recover(): Promise<void> {
    await this.files.init();
    const found = await this.files.loadAll((file, error) => this.log.warn('export job file unreadable', { file, error: error.message }));
    found.sort((a, b) => a.created_at.localeCompare(b.created_at));
    const now = Date.now();
    for (const job of found) {
      this.jobs.set(job.id, job);
      if (job.status !== 'queued' && job.status !== 'running') continue;
      const reason =
        job.attempts >= MAX_ATTEMPTS
          ? `interrupted by ${job.attempts} restarts; not started again`
          : Date.parse(job.from) < now - this.options.maxAgeMs
            ? 'interrupted by a restart, and its range is now older than max_age'
            : undefined;
      if (reason) await this.finish(job, { status: 'failed', error: reason });
      else {
        this.log.info('export job resumed after a restart', { id: job.id, attempts: job.attempts });
        job.status = 'queued';
        job.rows = 0;
        job.bytes = 0;
        await this.files.save(job);
        this.queue.push(job.id);
      }
    }
    await this.sweep();
  }

  async create(request: JobRequest, principal: Principal): Promise<ExportJob> {
    const job: ExportJob = {
      id: `exp_${randomBytes(16).toString('hex')}`,
      ...request,
      status: 'queued',
      tenant: principal.tenant ?? null,
      created_at: new Date().toISOString(),
      created_by: principal.name,
      started_at: null,
      finished_at: null,
      rows: 0,
      bytes: 0,
      error: null,
      attempts: 0,
    };
    await this.files.save(job);
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    const snapshot = { ...job };
    this.kick();
    return snapshot;
  }

  /** The jobs `principal` may see, newest first: its tenant's, or all for an unbound token. */
  list(principal: Principal): ExportJob[] {
    return [...this.jobs.values()].filter((job) => this.visible(job, principal)).sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  }

  get(id: string, principal: Principal): ExportJob | undefined {
    const job = this.jobs.get(id);
    return job && this.visible(job, principal) ? job : undefined;
  }

  private visible(job: ExportJob, principal: Principal): boolean {
    return principal.tenant === undefined || job.tenant === principal.tenant;
  }

  dataPath(job: ExportJob): string {
    return this.files.dataPath(job);
  }

  async remove(job: ExportJob): Promise<void> {
    this.jobs.delete(job.id);
    const queued = this.queue.indexOf(job.id);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (this.running?.id === job.id) this.running.cancelled = true;
    await this.files.remove(job);
  }

  private kick(): void {
    if (this.loop || this.stopped || this.queue.length === 0) return;
    this.loop = this.drain().finally(() => {
      this.loop = undefined;
      this.kick(); // a job queued while the last one finished
    });
  }

  private async drain(): Promise<void> {
    for (let id = this.queue.shift(); id !== undefined && !this.stopped; id = this.queue.shift()) {
      const job = this.jobs.get(id);
      if (job) await this.run(job);
    }
  }

  private async run(job: ExportJob): Promise<void> {
    const running = { id: job.id, cancelled: false };
    this.running = running;
    job.status = 'running';
    job.started_at = new Date().toISOString();
    job.attempts += 1;
    job.rows = 0;
    job.bytes = 0;
    await this.files.save(job);
    const part = this.files.partPath(job);
    const file = await open(part, 'w');
    try {
      const filter = parseFilter(new URLSearchParams(job.filters), { tenant: job.tenant ?? undefined, scopes: new Set(), name: job.created_by });
      for await (const chunk of exportText(this.queries, filter, job.format, this.options.pageRows, (rows) => (job.rows = rows))) {
        if (this.stopped) throw new Stopped();
        if (running.cancelled) break;
        const bytes = Buffer.from(chunk, 'utf8');
        await file.write(bytes);
        job.bytes += bytes.length;
      }
      await file.sync();
      await file.close();
      if (running.cancelled) return;
      await rename(part, this.files.dataPath(job));
      await this.finish(job, { status: 'completed' });
      this.log.info('export job completed', { id: job.id, rows: job.rows, bytes: job.bytes });
    } catch (error) {
      await file.close().catch(() => undefined);
      // Stopping leaves the job "running" on disk: the next start runs it again.
      if (error instanceof Stopped || running.cancelled) return;
      this.log.warn('export job failed', { id: job.id, error: (error as Error).message });
      await this.finish(job, { status: 'failed', error: (error as Error).message.split('\n')[0]! });
    } finally {
      this.running = undefined;
    }
  }

  private async finish(job: ExportJob, outcome: { status: 'completed' | 'failed'; error?: string }): Promise<void> {
    job.status = outcome.status;
    job.error = outcome.error ?? null;
    job.finished_at = new Date().toISOString();
    if (this.jobs.has(job.id)) await this.files.save(job);
  }

  /** Removes finished jobs (and their files) older than `keep`. */
  async sweep(now = Date.now()): Promise<void> {
    for (const job of [...this.jobs.values()]) {
      if (job.finished_at && Date.parse(job.finished_at) + this.options.keepMs < now) await this.remove(job).catch(() => undefined);
    }
  }

  /** Stops after the chunk being written; the job stays "running" on disk. Safe twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    await this.loop;
  }
}
