// Destinations (admin scope): downstream OTLP receivers with their state, and a drawer to
// create or edit one that shows the API's validation errors next to each field.
import { html, useEffect, useState } from '/console/vendor/htm-preact.js';
import { api } from '/console/api.js';
import { showTime } from '/console/format.js';
import { Drawer } from '/console/details.js';

const EMPTY = { name: '', endpoint: '', headers: [], max_batch_size: 500, encoding: 'protobuf', compression: 'gzip', tenant: '', event_types: '', enabled: true };

function toForm(d) {
  return {
    ...EMPTY,
    ...d,
    headers: Object.entries(d.headers ?? {}).map(([name, value]) => ({ name, value })),
    tenant: d.tenant ?? '',
    event_types: (d.event_types ?? []).join(', '),
  };
}

function toBody(form) {
  const types = form.event_types.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    name: form.name,
    endpoint: form.endpoint,
    headers: Object.fromEntries(form.headers.filter((h) => h.name).map((h) => [h.name, h.value])),
    max_batch_size: form.max_batch_size === '' ? undefined : Number(form.max_batch_size),
    encoding: form.encoding,
    compression: form.compression,
    tenant: form.tenant || undefined,
    event_types: types.length ? types : undefined,
    enabled: form.enabled,
  };
}

function LastError({ error }) {
  if (!error) return html`<span class="muted">none</span>`;
  return html`<span class="error">${showTime(error.at)} · ${error.http_status ?? 'network'} · ${error.message}</span>`;
}

function DestinationForm({ initial, onClose, onSaved }) {
  const [form, setForm] = useState(initial ? toForm(initial) : EMPTY);
  const [problems, setProblems] = useState({});
  const [message, setMessage] = useState(null);
  const [saved, setSaved] = useState(initial);
  const readOnly = saved?.source === 'config';
  const set = (key) => (e) => {
    const value = e.target.type === 'checkbox' ? e.target.checked : e.target.value;
    setForm((f) => ({ ...f, [key]: value }));
  };
  const field = (key, label, input, hint) => {
    const problem = problems[key];
    return html`<div class="field">
      <label for=${`d-${key}`}>${label}</label>
      ${input({ id: `d-${key}`, 'aria-invalid': problem ? 'true' : undefined, 'aria-describedby': problem ? `d-${key}-error` : undefined, disabled: readOnly })}
      ${hint && html`<small class="muted">${hint}</small>`}
      ${problem && html`<p id=${`d-${key}-error`} class="field-error">${problem}</p>`}
    </div>`;
  };
  const save = async (e) => {
    e.preventDefault();
    setProblems({});
    setMessage(null);
    try {
      const body = toBody(form);
      const result = saved ? await api(`/api/v1/destinations/${saved.id}`, { method: 'PATCH', body }) : await api('/api/v1/destinations', { method: 'POST', body });
      setSaved(result);
      setForm(toForm(result));
      setMessage({ ok: true, text: 'Saved.' });
      onSaved();
    } catch (err) {
      const byField = {};
      for (const p of err.body?.problems ?? []) {
        const key = p.field.split('.')[0];
        byField[key] = byField[key] ? `${byField[key]}; ${p.message}` : p.message;
      }
      setProblems(byField);
      setMessage({ ok: false, text: err.body?.problems ? 'Fix the fields marked below.' : err.message });
    }
  };
  const test = async () => {
    setMessage({ ok: true, text: 'Sending a test record…' });
    try {
      const r = await api(`/api/v1/destinations/${saved.id}/test`, { method: 'POST' });
      setMessage({ ok: r.ok, text: r.ok ? `Test accepted (HTTP ${r.http_status}).` : `Test failed${r.http_status ? ` (HTTP ${r.http_status})` : ''}: ${r.message}` });
    } catch (err) {
      setMessage({ ok: false, text: err.message });
    }
  };
  const setHeader = (i, key, value) => setForm((f) => ({ ...f, headers: f.headers.map((x, j) => (j === i ? { ...x, [key]: value } : x)) }));
  const headerRow = (h, i) => html`<div class="header-row">
    <label class="sr-only" for=${`h-name-${i}`}>Header ${i + 1} name</label>
    <input id=${`h-name-${i}`} placeholder="Authorization" value=${h.name} disabled=${readOnly}
      onInput=${(e) => setHeader(i, 'name', e.target.value)} />
    <label class="sr-only" for=${`h-value-${i}`}>Header ${i + 1} value</label>
    <input id=${`h-value-${i}`} type="password" autocomplete="off" placeholder="value" value=${h.value} disabled=${readOnly}
      onInput=${(e) => setHeader(i, 'value', e.target.value)} />
    <button type="button" class="link" disabled=${readOnly} onClick=${() => setForm((f) => ({ ...f, headers: f.headers.filter((_, j) => j !== i) }))} aria-label=${`Remove header ${i + 1}`}>Remove</button>
  </div>`;
  return html`<${Drawer} title=${saved ? `Destination ${saved.name}` : 'New destination'} onClose=${onClose} label="Close destination">
    <form class="form" onSubmit=${save} novalidate>
      ${readOnly && html`<p class="muted">Defined in the config file: change it there.</p>`}
      ${field('name', 'Name', (a) => html`<input ...${a} value=${form.name} onInput=${set('name')} />`)}
      ${field('endpoint', 'Endpoint URL', (a) => html`<input ...${a} type="url" placeholder="https://siem.example.com/v1/logs" value=${form.endpoint} onInput=${set('endpoint')} />`)}
      <fieldset class="field">
        <legend>Headers</legend>
        ${form.headers.map(headerRow)}
        <button type="button" disabled=${readOnly} onClick=${() => setForm((f) => ({ ...f, headers: [...f.headers, { name: '', value: '' }] }))}>Add header</button>
        <small class="muted">Values are secrets: stored values show as ***; leave *** to keep one.</small>
        ${problems.headers && html`<p class="field-error">${problems.headers}</p>`}
      </fieldset>
      ${field('max_batch_size', 'Max batch size', (a) => html`<input ...${a} type="number" min="1" max="1000" value=${form.max_batch_size} onInput=${set('max_batch_size')} />`, '1 to 1000 records a request')}
      ${field('encoding', 'Encoding', (a) => html`<select ...${a} value=${form.encoding} onChange=${set('encoding')}><option value="protobuf">protobuf</option><option value="json">json</option></select>`)}
      ${field('compression', 'Compression', (a) => html`<select ...${a} value=${form.compression} onChange=${set('compression')}><option value="gzip">gzip</option><option value="none">none</option></select>`)}
      ${field('tenant', 'Tenant filter', (a) => html`<input ...${a} value=${form.tenant} onInput=${set('tenant')} placeholder="all tenants" />`)}
      ${field('event_types', 'Event types', (a) => html`<input ...${a} value=${form.event_types} onInput=${set('event_types')} placeholder="all; or user.login, user.logout" />`)}
      ${field('enabled', 'Enabled', (a) => html`<input ...${a} type="checkbox" checked=${form.enabled} onChange=${set('enabled')} />`)}
      ${saved && html`<div class="status-box">
        <p><strong>State:</strong> <span class=${`state ${saved.status.state}`}>${saved.status.state}</span> · lag ${saved.status.lag_records} · exported ${saved.status.exported_records}</p>
        <p><strong>Last success:</strong> ${saved.status.last_success_at ? showTime(saved.status.last_success_at) : 'never'}</p>
        <p><strong>Last error:</strong> <${LastError} error=${saved.status.last_error} /></p>
      </div>`}
      <div class="buttons">
        <button type="submit" disabled=${readOnly}>${saved ? 'Save changes' : 'Create destination'}</button>
        ${saved && html`<button type="button" onClick=${test}>Send test</button>`}
      </div>
      ${message && html`<p role=${message.ok ? 'status' : 'alert'} class=${message.ok ? 'ok' : 'error'}>${message.text}</p>`}
    </form>
  <//>`;
}

export function DestinationsView() {
  const [list, setList] = useState(null);
  const [error, setError] = useState('');
  const [editing, setEditing] = useState(undefined); // undefined: closed, null: new, object: edit
  const refresh = () => api('/api/v1/destinations').then((b) => (setList(b.destinations), setError('')), (e) => setError(e.message));
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 2000);
    return () => clearInterval(timer);
  }, []);
  return html`<section aria-labelledby="destinations-title">
    <div class="toolbar"><h1 id="destinations-title">Destinations</h1><button onClick=${() => setEditing(null)}>New destination</button></div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table class="destinations">
      <thead><tr><th scope="col">Name</th><th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Lag</th>
        <th scope="col">Last success</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${(list ?? []).map((d) => html`<tr data-destination-id=${d.id}>
          <td>${d.name}</td><td class="endpoint">${d.endpoint}</td><td><span class=${`state ${d.status.state}`}>${d.status.state}</span></td>
          <td>${d.status.lag_records}</td><td>${d.status.last_success_at ? showTime(d.status.last_success_at) : 'never'}</td>
          <td class="last-error"><${LastError} error=${d.status.last_error} /></td>
          <td><button onClick=${() => setEditing(d)} aria-label=${`Edit ${d.name}`}>Edit</button></td>
        </tr>`)}
        ${list && list.length === 0 && html`<tr><td colspan="7" class="muted">No destinations yet.</td></tr>`}
      </tbody>
    </table>
    ${editing !== undefined && html`<${DestinationForm} initial=${editing} onClose=${() => setEditing(undefined)} onSaved=${refresh} />`}
  </section>`;
}
