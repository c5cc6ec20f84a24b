/**
 * Export jobs on disk, under the data directory: `<id>.job.json` holds the job (written to a
 * temporary file and renamed, so a crash leaves the old or the new version, never half),
 * `<id>.<format>` the finished file, `<id>.<format>.part` the file being written.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportFormat } from '../events/export-body.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface ExportJob {
  id: string;
  name: string;
  format: ExportFormat;
  status: JobStatus;
  /** The creator's tenant (null for an unbound token): only that tenant sees the job. */
  tenant: string | null;
  /** Filter parameters as GET /api/v1/events takes them; from/to are resolved times. */
  filters: Record<string, string>;
  from: string;
  to: string;
  created_at: string;
  created_by: string;
  started_at: string | null;
  finished_at: string | null;
  rows: number;
  bytes: number;
  error: string | null;
  /** Times the job was started; more than one after restarts. */
  attempts: number;
}

const ID = /^exp_[0-9a-f]{32}$/;
export const isJobId = (id: string): boolean => ID.test(id);

export class JobFiles {
  constructor(readonly directory: string) {}

  async init(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
  }

  dataPath(job: Pick<ExportJob, 'id' | 'format'>): string {
    return join(this.directory, `${job.id}.${job.format}`);
  }

  partPath(job: Pick<ExportJob, 'id' | 'format'>): string {
    return `${this.dataPath(job)}.part`;
  }

  async save(job: ExportJob): Promise<void> {
    const path = join(this.directory, `${job.id}.job.json`);
    await writeFile(`${path}.tmp`, JSON.stringify(job));
    await rename(`${path}.tmp`, path);
  }

  /** Every job on disk; a file that cannot be read is reported, not fatal. */
  async loadAll(onUnreadable: (file: string, error: Error) => void): Promise<ExportJob[]> {
    const jobs: ExportJob[] = [];
    for (const file of await readdir(this.directory)) {
      if (!file.endsWith('.job.json') || !isJobId(file.slice(0, -'.job.json'.length))) continue;
      try {
        jobs.push(JSON.parse(await readFile(join(this.directory, file), 'utf8')) as ExportJob);
      } catch (error) {
        onUnreadable(file, error as Error);
      }
    }
    return jobs;
  }

  async remove(job: Pick<ExportJob, 'id' | 'format'>): Promise<void> {
    await rm(this.partPath(job), { force: true });
    await rm(this.dataPath(job), { force: true });
    await rm(join(this.directory, `${job.id}.job.json`), { force: true });
  }
}
