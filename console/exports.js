// Export history: the caller's export jobs, newest first, with status and Download.
import { html, useEffect, useState } from '/console/vendor/htm-preact.js';
import { api } from '/console/api.js';
import { showTime } from '/console/format.js';

const STATUS = { queued: 'Queued', running: 'Running', completed: 'Completed', failed: 'Failed' };

async function download(job) {
  const response = await api(`/api/v1/exports/${job.id}/download`, { raw: true });
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `export.${job.format}`;
  const url = URL.createObjectURL(await response.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ExportsView() {
  const [jobs, setJobs] = useState(null);
  const [error, setError] = useState('');
  const refresh = () => api('/api/v1/exports').then((b) => (setJobs(b.exports), setError('')), (e) => setError(e.message));
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 1500);
    return () => clearInterval(timer);
  }, []);
  const remove = async (job) => {
    await api(`/api/v1/exports/${job.id}`, { method: 'DELETE' }).catch((e) => setError(e.message));
    refresh();
  };
  return html`<section aria-labelledby="exports-title">
    <h1 id="exports-title">Export history</h1>
    <p class="muted">Start an export from the Events view (Export…). Files are kept for a limited time.</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table class="jobs">
      <thead><tr><th scope="col">Name</th><th scope="col">Format</th><th scope="col">Status</th><th scope="col">Rows</th><th scope="col">Range</th>
        <th scope="col">Created</th><th scope="col">By</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${(jobs ?? []).map((job) => html`<tr data-export-id=${job.id}>
          <td>${job.name}</td><td>${job.format.toUpperCase()}</td>
          <td><span class=${`status ${job.status}`}>${STATUS[job.status]}</span>${job.error && html`<div class="error">${job.error}</div>`}</td>
          <td>${job.rows}</td><td>${showTime(job.from)} – ${showTime(job.to)}</td><td>${showTime(job.created_at)}</td><td>${job.created_by}</td>
          <td class="row-actions">
            ${job.status === 'completed' && html`<button onClick=${() => download(job).catch((e) => setError(e.message))}>Download</button>`}
            <button class="link" onClick=${() => remove(job)} aria-label=${`Delete export ${job.name}`}>Delete</button>
          </td>
        </tr>`)}
        ${jobs && jobs.length === 0 && html`<tr><td colspan="8" class="muted">No exports yet.</td></tr>`}
      </tbody>
    </table>
  </section>`;
}
