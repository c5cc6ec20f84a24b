// The console's shell: sign-in by pasting a token, navigation, and the view named in the URL.
import { html, render, useEffect, useState } from '/console/vendor/htm-preact.js';
import { api, token } from '/console/api.js';
import { EventsView } from '/console/events.js';
import { ExportsView } from '/console/exports.js';
import { DestinationsView } from '/console/destinations.js';

function readUrl() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/** Puts the view's state in the address bar (no token ever goes there). */
export function writeUrl(state) {
  const params = new URLSearchParams(Object.entries(state).filter(([, v]) => v));
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}`);
}

function SignIn({ onSignedIn }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    token.set(value.trim());
    try {
      await onSignedIn();
    } catch (err) {
      token.clear();
      setError(err.status === 401 ? 'This token is not known to the sidecar.' : err.status === 403 ? 'This token may not read events (it needs the "read" scope).' : err.message);
    }
  };
  return html`<main class="signin">
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Audit log</h1>
      <p>Paste an API token with the <code>read</code> scope. It is kept in this tab only (sessionStorage).</p>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="off" required value=${value} onInput=${(e) => setValue(e.target.value)} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit">Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [session, setSession] = useState(null); // { admin }
  const [url, setUrl] = useState(readUrl());
  const view = url.view || 'events';

  const check = async () => {
    await api('/api/v1/events?limit=1');
    let admin = false;
    try {
      await api('/api/v1/destinations');
      admin = true;
    } catch (err) {
      if (err.status !== 403) throw err;
    }
    setSession({ admin });
  };
  useEffect(() => {
    if (token.get()) check().catch(() => token.clear() || setSession(false));
    else setSession(false);
  }, []);

  const go = (next) => {
    writeUrl(next);
    setUrl(next);
  };
  if (session === null) return html`<p class="loading">Loading…</p>`;
  if (!session) return html`<${SignIn} onSignedIn=${check} />`;
  const signOut = () => {
    token.clear();
    setSession(false);
  };
  const tab = (name, label) =>
    html`<a href=${`?view=${name}`} aria-current=${view === name ? 'page' : undefined} onClick=${(e) => (e.preventDefault(), go({ view: name }))}>${label}</a>`;
  return html`<div class="shell">
    <header class="top">
      <strong class="brand">audit-sidecar</strong>
      <nav aria-label="Console">
        ${tab('events', 'Events')} ${tab('exports', 'Export history')} ${session.admin && tab('destinations', 'Destinations')}
      </nav>
      <button class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main>
      ${view === 'exports'
        ? html`<${ExportsView} />`
        : view === 'destinations'
          ? session.admin
            ? html`<${DestinationsView} />`
            : html`<p role="alert">Destinations need a token with the admin scope.</p>`
          : html`<${EventsView} url=${url} go=${go} />`}
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
