// The events view: filters (kept in the URL), the histogram, the newest-first list with
// cursor paging, live mode over WebSocket, the details drawer and the export form.
import { html, useEffect, useRef, useState } from '/console/vendor/htm-preact.js';
import { api, apiParams, FILTER_KEYS, token } from '/console/api.js';
import { actorLabel, resourceLabel, showTime } from '/console/format.js';
import { Histogram } from '/console/chart.js';
import { EventDetails, Drawer } from '/console/details.js';

const ACTIONS = ['create', 'read', 'update', 'delete', 'login', 'logout', 'grant', 'revoke', 'other'];
const PAGE = 50;

function Field({ id, label, children }) {
  return html`<div class="field"><label for=${id}>${label}</label>${children}</div>`;
}

function FilterBar({ filters, onApply }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const update = (key) => (e) => {
    const value = e.target.value;
    setDraft((d) => ({ ...d, [key]: value }));
  };
  // Selects report through change, text fields through input.
  const bind = (key) => ({ id: `f-${key}`, name: key, value: draft[key] ?? '', onInput: update(key), onChange: update(key) });
  const submit = (e) => {
    e.preventDefault();
    onApply(draft);
  };
  return html`<form class="filters" onSubmit=${submit} role="search" aria-label="Filter events">
    <${Field} id="f-q" label="Search"><input type="search" placeholder="message, metadata, actor" ...${bind('q')} /><//>
    <${Field} id="f-action" label="Action"><select ...${bind('action')}><option value="">Any</option>${ACTIONS.map((a) => html`<option value=${a}>${a}</option>`)}</select><//>
    <${Field} id="f-event_type" label="Event type"><input ...${bind('event_type')} placeholder="user.login" /><//>
    <${Field} id="f-resource_type" label="Resource type"><input ...${bind('resource_type')} /><//>
    <${Field} id="f-actor" label="User"><input ...${bind('actor')} placeholder="id or email" /><//>
    <${Field} id="f-outcome" label="Outcome"><select ...${bind('outcome')}><option value="">Any</option><option value="success">success</option><option value="failure">failure</option><option value="unknown">unknown</option></select><//>
    <${Field} id="f-project_id" label="Project"><input ...${bind('project_id')} /><//>
    <${Field} id="f-team_id" label="Team"><input ...${bind('team_id')} /><//>
    <${Field} id="f-range" label="Date range"><select ...${bind('range')}>
      <option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="30d">Last 30 days</option><option value="custom">Custom…</option>
    </select><//>
    ${draft.range === 'custom' && html`
      <${Field} id="f-from" label="From"><input type="datetime-local" step="1" ...${bind('from')} /><//>
      <${Field} id="f-to" label="To"><input type="datetime-local" step="1" ...${bind('to')} /><//>`}
    <div class="field actions"><button type="submit">Apply filters</button></div>
  </form>`;
}

function ExportForm({ filters, onClose }) {
  const [name, setName] = useState('');
  const [format, setFormat] = useState('csv');
  const [result, setResult] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      const job = await api('/api/v1/exports', { method: 'POST', body: { name: name || undefined, format, ...Object.fromEntries(apiParams(filters)) } });
      setResult({ ok: true, text: `Export "${job.name}" queued. Follow it in Export history.` });
    } catch (err) {
      setResult({ ok: false, text: err.message });
    }
  };
  return html`<${Drawer} title="Export events" onClose=${onClose} label="Close export">
    <form class="form" onSubmit=${submit}>
      <p>Exports the events that match the current filters as a background job.</p>
      <${Field} id="export-name" label="Name"><input id="export-name" required maxlength="100" value=${name} onInput=${(e) => setName(e.target.value)} /><//>
      <${Field} id="export-format" label="Format"><select id="export-format" value=${format} onChange=${(e) => setFormat(e.target.value)}>
        <option value="csv">CSV</option><option value="json">JSON</option><option value="ndjson">NDJSON</option>
      </select><//>
      <button type="submit">Start export</button>
      ${result && html`<p role=${result.ok ? 'status' : 'alert'} class=${result.ok ? 'ok' : 'error'}>${result.text} ${result.ok && html`<a href="?view=exports">Open Export history</a>`}</p>`}
    </form>
  <//>`;
}

/** Live mode: new events over WebSocket; the token goes in the first message, never the URL. */
function useLive(enabled, filters, onEvent) {
  const [state, setState] = useState('off');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!enabled) return setState('off');
    const params = apiParams(filters);
    params.delete('from');
    params.delete('to');
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/v1/events/ws?${params}`);
    setState('connecting');
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: token.get() }));
    ws.onmessage = (m) => {
      const message = JSON.parse(m.data);
      if (message.type === 'ready') setState('live');
      else if (message.type === 'event') handler.current(message.event);
      else if (message.type === 'error') setState('error');
    };
    ws.onclose = () => setState((s) => (s === 'error' ? s : 'disconnected'));
    return () => ws.close();
  }, [enabled, JSON.stringify(filters)]);
  return state;
}

export function EventsView({ url, go }) {
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, url[k] ?? '']));
  if (!filters.range) filters.range = '7d';
  const local = url.tz === 'local';
  const [page, setPage] = useState({ events: [], next: null, loading: true, error: '' });
  const [cursors, setCursors] = useState([]); // cursors of the pages before this one
  const [cursor, setCursor] = useState(null);
  const [histogram, setHistogram] = useState(null);
  const [selected, setSelected] = useState(null);
  const [exporting, setExporting] = useState(false);
  const [live, setLive] = useState(false);
  const [pending, setPending] = useState([]);
  const key = JSON.stringify(filters);

  const load = async (at) => {
    setPage((p) => ({ ...p, loading: true }));
    try {
      const params = apiParams(filters);
      params.set('limit', String(PAGE));
      if (at) params.set('cursor', at);
      const body = await api(`/api/v1/events?${params}`);
      setPage({ events: body.events, next: body.next_cursor, loading: false, error: '' });
    } catch (err) {
      setPage({ events: [], next: null, loading: false, error: err.message });
    }
  };
  const loadHistogram = () => api(`/api/v1/events/histogram?${apiParams(filters)}`).then(setHistogram, () => setHistogram(null));
  useEffect(() => {
    setCursors([]);
    setCursor(null);
    setPending([]);
    load(null);
    loadHistogram();
  }, [key]);

  const atTop = () => window.scrollY < 80 && cursor === null;
  const addEvents = (events) =>
    setPage((p) => {
      const seen = new Set(p.events.map((e) => `${e.tenant_id}/${e.event_id}`));
      const fresh = events.filter((e) => !seen.has(`${e.tenant_id}/${e.event_id}`)).reverse();
      return { ...p, events: [...fresh, ...p.events] };
    });
  const state = useLive(live, filters, (event) => {
    if (atTop()) addEvents([event]);
    else setPending((list) => [...list, event]);
  });
  // Back at the top, what arrived meanwhile is shown.
  useEffect(() => {
    if (!live) return undefined;
    const onScroll = () => {
      if (atTop()) setPending((list) => (list.length ? (addEvents(list), []) : list));
    };
    addEventListener('scroll', onScroll);
    return () => removeEventListener('scroll', onScroll);
  }, [live, cursor]);
  const showPending = () => {
    if (cursor !== null) {
      setCursors([]);
      setCursor(null);
      load(null);
    } else addEvents(pending);
    setPending([]);
    window.scrollTo(0, 0);
  };

  const older = () => {
    setCursors([...cursors, cursor]);
    setCursor(page.next);
    load(page.next);
    window.scrollTo(0, 0);
  };
  const newer = () => {
    const previous = cursors[cursors.length - 1] ?? null;
    setCursors(cursors.slice(0, -1));
    setCursor(previous);
    load(previous);
  };
  const apply = (next) => go({ ...url, ...next, view: 'events' });
  const indicator = { off: 'Live off', connecting: 'Connecting…', live: pending.length ? `Paused · ${pending.length} new` : 'Live', disconnected: 'Disconnected', error: 'Live refused' }[state];

  return html`<section aria-labelledby="events-title">
    <div class="toolbar">
      <h1 id="events-title">Events</h1>
      <label class="switch"><input type="checkbox" role="switch" checked=${live} onChange=${(e) => setLive(e.target.checked)} /> Live mode</label>
      <span class=${`live-indicator ${state}${pending.length ? ' paused' : ''}`} role="status" aria-live="polite">${indicator}</span>
      <label class="switch"><input type="checkbox" checked=${local} onChange=${(e) => go({ ...url, tz: e.target.checked ? 'local' : '' })} /> Local time</label>
      <button onClick=${() => setExporting(true)}>Export…</button>
    </div>
    <${FilterBar} filters=${filters} onApply=${apply} />
    <${Histogram} data=${histogram} local=${local} />
    ${pending.length > 0 && html`<button class="pending" onClick=${showPending}>${pending.length} new event${pending.length > 1 ? 's' : ''} · show</button>`}
    ${page.error && html`<p class="error" role="alert">${page.error}</p>`}
    <table class="events" aria-busy=${page.loading}>
      <thead><tr>
        <th scope="col">Time (${local ? 'local' : 'UTC'})</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Event type</th>
        <th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Client IP</th>
      </tr></thead>
      <tbody>
        ${page.events.map((e) => html`<tr key=${`${e.tenant_id}/${e.event_id}`} data-event-id=${e.event_id} onClick=${() => setSelected(e)}>
          <td><button class="link row-open" onClick=${(ev) => (ev.stopPropagation(), setSelected(e))} aria-label=${`Details of ${e.event_type} at ${e.occurred_at}`}>${showTime(e.occurred_at, local)}</button></td>
          <td>${actorLabel(e)}</td><td>${e.action}</td><td>${e.event_type}</td><td>${resourceLabel(e)}</td>
          <td><span class=${`outcome ${e.outcome}`}>${e.outcome}</span></td><td>${e.client_ip || '—'}</td>
        </tr>`)}
        ${!page.loading && page.events.length === 0 && html`<tr><td colspan="7" class="muted">No events match these filters.</td></tr>`}
      </tbody>
    </table>
    <nav class="pager" aria-label="Pages">
      <button onClick=${newer} disabled=${cursor === null}>← Newer</button>
      <button onClick=${older} disabled=${!page.next}>Older →</button>
    </nav>
    ${selected && html`<${EventDetails} event=${selected} onClose=${() => setSelected(null)} />`}
    ${exporting && html`<${ExportForm} filters=${filters} onClose=${() => setExporting(false)} />`}
  </section>`;
}
