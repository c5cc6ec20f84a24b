// The details drawer: every field of one event, the changes as field / previous / new, and the raw record.
import { html, useEffect, useRef, useState } from '/console/vendor/htm-preact.js';
import { showTime, showValue } from '/console/format.js';

const Row = ({ label, value }) => html`<tr><th scope="row">${label}</th><td>${value || '—'}</td></tr>`;

function Changes({ changes }) {
  const entries = changes && typeof changes === 'object' ? Object.entries(changes) : [];
  if (entries.length === 0) return html`<p class="muted">No changes recorded.</p>`;
  return html`<table class="changes">
    <thead><tr><th scope="col">Field</th><th scope="col">Previous</th><th scope="col">New</th></tr></thead>
    <tbody>${entries.map(([field, change]) => html`<tr>
      <td>${field}</td><td class="old">${showValue(change?.old)}</td><td class="new">${showValue(change?.new)}</td>
    </tr>`)}</tbody>
  </table>`;
}

export function Drawer({ title, onClose, children, label = 'Close' }) {
  const close = useRef(null);
  useEffect(() => {
    const previous = document.activeElement;
    close.current?.focus();
    const key = (e) => e.key === 'Escape' && onClose();
    addEventListener('keydown', key);
    return () => {
      removeEventListener('keydown', key);
      previous?.focus?.();
    };
  }, []);
  return html`<div class="backdrop" onClick=${onClose}></div>
    <aside class="drawer" role="dialog" aria-modal="true" aria-labelledby="drawer-title">
      <header><h2 id="drawer-title">${title}</h2><button ref=${close} class="close" onClick=${onClose} aria-label=${label}>×</button></header>
      <div class="drawer-body">${children}</div>
    </aside>`;
}

export function EventDetails({ event: e, onClose }) {
  const [copied, setCopied] = useState('');
  let raw = e.raw;
  try {
    raw = JSON.stringify(JSON.parse(e.raw), null, 2);
  } catch {}
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(e.raw);
      setCopied('Copied');
    } catch {
      setCopied('Copy failed: select the text instead');
    }
  };
  const attributes = Object.entries(e.attributes ?? {});
  return html`<${Drawer} title=${e.event_type} onClose=${onClose} label="Close details">
    <table class="fields">
      <tbody>
        <${Row} label="Occurred (UTC)" value=${e.occurred_at} />
        <${Row} label="Occurred (local)" value=${showTime(e.occurred_at, true)} />
        <${Row} label="Received" value=${e.received_at} />
        <${Row} label="Event ID" value=${e.event_id} />
        <${Row} label="Tenant" value=${e.tenant_id} />
        <${Row} label="Action / outcome" value=${`${e.action} · ${e.outcome}`} />
        <${Row} label="Actor ID" value=${e.actor_id} />
        <${Row} label="Actor name" value=${e.actor_name} />
        <${Row} label="Actor email" value=${e.actor_email} />
        <${Row} label="Actor type" value=${e.actor_type} />
        <${Row} label="Client IP" value=${e.client_ip} />
        <${Row} label="User agent" value=${e.user_agent} />
        <${Row} label="Resource" value=${[e.resource_type, e.resource_id, e.resource_name].filter(Boolean).join(' · ')} />
        <${Row} label="Project / team" value=${[e.project_id, e.team_id].filter(Boolean).join(' · ')} />
        <${Row} label="Request" value=${[e.request_method, e.request_url].filter(Boolean).join(' ')} />
        <${Row} label="Message" value=${e.message} />
        <${Row} label="Service" value=${e.service_name} />
        <${Row} label="Trace ID" value=${e.trace_id} />
        <${Row} label="Span ID" value=${e.span_id} />
        <${Row} label="Source" value=${e.source} />
      </tbody>
    </table>
    <h3>Changes</h3>
    <${Changes} changes=${e.changes} />
    <h3>Metadata</h3>
    <pre class="json">${JSON.stringify(e.metadata, null, 2)}</pre>
    <h3>Attributes</h3>
    ${attributes.length
      ? html`<table class="fields"><tbody>${attributes.map(([k, v]) => html`<${Row} label=${k} value=${v} />`)}</tbody></table>`
      : html`<p class="muted">None.</p>`}
    <h3>Raw record</h3>
    <div class="raw-actions"><button onClick=${copy}>Copy raw record</button> <span role="status">${copied}</span></div>
    <pre class="json raw">${raw}</pre>
  <//>`;
}
