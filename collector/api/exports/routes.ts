/**
 * /api/v1/exports: background export jobs with history. `read` scope; a tenant-bound token
 * sees, reads, downloads and deletes only its tenant's jobs (others are 404 to it).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { badRequest, HttpError } from '../../errors.js';
import type { ApiEnv } from '../env.js';
import { EXPORT_CONTENT_TYPES } from '../events/export-body.js';
import type { ExportJob } from './job-files.js';
import { isJobId } from './job-files.js';
import type { ExportJobs } from './export-jobs.js';
import { parseJobRequest, type ExportLimits } from './job-request.js';

/** A job as the API shows it (the tenant binding and attempts stay inside). */
function view(job: ExportJob) {
  const { attempts: _attempts, ...shown } = job;
  return { ...shown, download_url: job.status === 'completed' ? `/api/v1/exports/${job.id}/download` : null };
}

/** A file name safe in a Content-Disposition header. */
const fileName = (job: ExportJob) => `${job.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'export'}.${job.format}`;

export function exportJobRoutes(jobs: ExportJobs, limits: ExportLimits) {
  const app = new Hono<ApiEnv>();
  const find = (id: string, c: { get(key: 'principal'): ApiEnv['Variables']['principal'] }) => {
    const job = isJobId(id) ? jobs.get(id, c.get('principal')) : undefined;
    if (!job) throw new HttpError(404, 'no such export');
    return job;
  };

  app.post('/', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw badRequest('the body must be a JSON object');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
    const request = parseJobRequest(body as Record<string, unknown>, c.get('principal'), limits);
    return c.json(view(await jobs.create(request, c.get('principal'))), 202);
  });

  app.get('/', (c) => c.json({ exports: jobs.list(c.get('principal')).map(view) }));

  app.get('/:id', (c) => c.json(view(find(c.req.param('id'), c))));

  app.get('/:id/download', (c) => {
    const job = find(c.req.param('id'), c);
    if (job.status !== 'completed') return c.json({ error: `the export is ${job.status}, not completed` }, 409);
    const stream = Readable.toWeb(createReadStream(jobs.dataPath(job))) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, {
      'content-type': EXPORT_CONTENT_TYPES[job.format],
      'content-length': String(job.bytes),
      'content-disposition': `attachment; filename="${fileName(job)}"`,
      'cache-control': 'private, no-store',
    });
  });

  app.delete('/:id', async (c) => {
    await jobs.remove(find(c.req.param('id'), c));
    return c.body(null, 204);
  });

  return app;
}
