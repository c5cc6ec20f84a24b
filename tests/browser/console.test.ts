/**
 * The web console in a real Chromium (Debian's package, driven by playwright-core) against
 * a real sidecar: sign-in, filters, details, live mode, export jobs, destinations, and what a
 * read-only token sees. Screenshots go to tests/artifacts/ (the README's to docs/ with UPDATE_SCREENSHOTS=1).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../collector/sidecar.js';
import { CHROMIUM_ARGS, CHROMIUM_HINT, chromiumPath, hasChromium } from '../support/chromium.js';
import { startTestSidecar, tempDir, ingestCanonical } from '../support/sidecar.js';

const ADMIN = 'console-admin-token-0000000';
const READER = 'console-reader-token-000000';
const INGEST = 'console-ingest-token-000000';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const DOCS = join(import.meta.dirname, '..', '..', 'docs');
const HOUR = 3_600_000;

if (!hasChromium) console.warn(CHROMIUM_HINT);

let sidecar: Sidecar;
let browser: Browser;
let page: Page;
/** Script errors and CSP violations seen in the page: none are expected. */
const pageErrors: string[] = [];

const actions = ['create', 'update', 'delete', 'login'];
const seed = Array.from({ length: 48 }, (_, i) => ({
  id: `c-${String(i).padStart(3, '0')}`,
  tenant_id: i % 2 ? 'acme' : 'globex',
  occurred_at: new Date(Date.now() - (48 - i) * HOUR).toISOString(),
  event_type: ['project.create', 'monitor.update', 'monitor.delete', 'user.login'][i % 4],
  action: actions[i % 4],
  outcome: i % 7 === 3 ? 'failure' : 'success',
  actor: { id: `u${i % 3}`, name: ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'][i % 3], email: `${['ada', 'grace', 'alan'][i % 3]}@example.com`, type: i % 5 ? 'user' : 'api_key' },
  client_ip: `192.0.2.${i}`,
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) console-test',
  team_id: `team-${i % 2}`,
  project_id: `proj-${i % 3}`,
  resource: { type: i % 4 === 0 ? 'project' : 'monitor', id: `r-${i}`, name: `Resource ${i}` },
  request: { method: i % 4 === 2 ? 'DELETE' : 'POST', url: `https://app.example.com/api/monitors/r-${i}` },
  message: `Change number ${i}`,
  changes: i % 4 === 1 ? { interval: { old: '60s', new: `${30 + i}s` }, paused: { old: false, new: true } } : {},
  metadata: { ticket: `OPS-${100 + i}` },
  attributes: { env: 'prod' },
}));

async function ingest(records: Array<Record<string, unknown>>) {
  await ingestCanonical(sidecar, INGEST, records);
}

async function apiGet<T>(path: string, token = ADMIN): Promise<T> {
  const response = await fetch(`${sidecar.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

async function shot(name: string, docs?: string) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  // The README's screenshots change only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
  if (docs && process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(path, join(DOCS, docs));
}

async function signIn(token: string) {
  await page.goto(`${sidecar.apiUrl}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('table.events tbody tr[data-event-id]').first().waitFor();
}

const rowIds = () => page.locator('table.events tbody tr[data-event-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-id')));

// CI sets REQUIRE_BROWSER_TESTS=1: there a missing Chromium fails the run instead of skipping.
describe.skipIf(!hasChromium && process.env.REQUIRE_BROWSER_TESTS !== '1')('web console in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(DOCS, { recursive: true });
    sidecar = await startTestSidecar({
      dataDir: tempDir(),
      batch: { timeout: '10ms' },
      api: { allow_private_destinations: true },
      tokens: [
        { token: ADMIN, scopes: ['read', 'admin'], name: 'console admin' },
        { token: READER, scopes: ['read'] },
        { token: INGEST, scopes: ['ingest'] },
      ],
    });
    await ingest(seed);
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, acceptDownloads: true, timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
    });
  });
  afterAll(async () => {
    expect(pageErrors).toEqual([]);
    await browser?.close();
    await sidecar?.stop();
  });

  it('serves the page with a strict CSP and a small first load', async () => {
    const response = await fetch(`${sidecar.apiUrl}/`);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const scripts: number[] = [];
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push((await r.body()).length);
    });
    await page.goto(`${sidecar.apiUrl}/`);
    await page.getByLabel('API token').waitFor();
    const asset = await fetch(`${sidecar.apiUrl}/console/app.js`);
    expect(asset.headers.get('cache-control')).toContain('max-age');
    expect((await fetch(`${sidecar.apiUrl}/console/app.js`, { headers: { 'if-none-match': asset.headers.get('etag')! } })).status).toBe(304);
    const { gzipSync } = await import('node:zlib');
    let gzipped = 0;
    for (const name of ['app.js', 'api.js', 'events.js', 'details.js', 'exports.js', 'destinations.js', 'chart.js', 'format.js', 'vendor/htm-preact.js', 'vendor/uplot.js']) {
      gzipped += gzipSync(Buffer.from(await (await fetch(`${sidecar.apiUrl}/console/${name}`)).arrayBuffer())).length;
    }
    expect(scripts.length).toBeGreaterThan(3);
    expect(gzipped).toBeLessThan(200 * 1024);
  });

  it('signs in with a pasted token kept in sessionStorage only', async () => {
    await page.goto(`${sidecar.apiUrl}/`);
    await page.getByLabel('API token').fill('not-a-known-token-00000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not known');
    await signIn(ADMIN);
    expect(page.url()).not.toContain(ADMIN);
    expect(await page.evaluate('Object.values(sessionStorage)')).toContain(ADMIN);
    expect(await page.evaluate('Object.values(localStorage)')).not.toContain(ADMIN);
    expect(await rowIds()).toHaveLength(48);
    expect((await rowIds())[0]).toBe('c-047'); // newest first
    await page.locator('.histogram canvas').waitFor();
    await shot('events-view', 'console-events.png');
  });

  it('filters by action and user, keeps the filters in the URL, and shows the matching rows', async () => {
    await page.getByLabel('Action', { exact: true }).selectOption('update');
    await page.getByLabel('User', { exact: true }).fill('grace@example.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const expected = seed.filter((e) => e.action === 'update' && e.actor.id === 'u1').map((e) => e.id).reverse();
    await expect.poll(rowIds).toEqual(expected);
    expect(expected.length).toBeGreaterThan(1);
    expect(page.url()).toContain('action=update');
    expect(page.url()).toContain('actor=grace%40example.com');
    const cells = await page.locator('table.events tbody tr[data-event-id] td:nth-child(3)').allTextContents();
    expect(new Set(cells)).toEqual(new Set(['update']));
    // The URL alone reproduces the view.
    await page.goto(page.url());
    await expect.poll(rowIds).toEqual(expected);
    await expect.poll(() => page.locator('.histogram figcaption').textContent()).toContain(`${expected.length} events`);
  });

  it('opens the details drawer with the changes as field / previous / new', async () => {
    const id = seed.filter((e) => e.action === 'update' && e.actor.id === 'u1').at(-1)!;
    await page.locator(`tr[data-event-id="${id.id}"] button.row-open`).press('Enter');
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    const rows = await drawer.locator('table.changes tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['interval', '60s', `${30 + Number(id.id.slice(2))}s`],
      ['paused', 'false', 'true'],
    ]);
    await expect.poll(() => drawer.textContent()).toContain('192.0.2.');
    expect(await drawer.textContent()).toContain('console-test');
    expect(await drawer.textContent()).toContain('OPS-');
    expect(await drawer.getByRole('button', { name: 'Copy raw record' }).count()).toBe(1);
    await shot('event-details');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  it('shows a new event at the top within 2 s in live mode', async () => {
    await page.goto(`${sidecar.apiUrl}/?view=events`);
    await page.locator('table.events tbody tr[data-event-id]').first().waitFor();
    await page.getByRole('switch', { name: 'Live mode' }).check();
    await expect.poll(() => page.locator('.live-indicator').textContent()).toBe('Live');
    const started = Date.now();
    await ingest([{ id: 'live-1', event_type: 'live.arrived', action: 'create', actor: { id: 'u9', email: 'live@example.com' }, tenant_id: 'acme' }]);
    await page.locator('tr[data-event-id="live-1"]').waitFor({ timeout: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await rowIds())[0]).toBe('live-1');
    // Reading further down pauses it, and it counts what arrived.
    await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    await ingest([{ id: 'live-2', event_type: 'live.arrived', action: 'create', actor: { id: 'u9' }, tenant_id: 'acme' }]);
    await expect.poll(() => page.locator('.live-indicator').textContent()).toBe('Paused · 1 new');
    expect(await page.locator('tr[data-event-id="live-2"]').count()).toBe(0);
    await page.getByRole('button', { name: '1 new event · show' }).click();
    await expect.poll(async () => (await rowIds())[0]).toBe('live-2');
    await page.getByRole('switch', { name: 'Live mode' }).uncheck();
  });

  it('runs an export job and downloads the CSV with the list\'s rows', async () => {
    await page.goto(`${sidecar.apiUrl}/?view=events&outcome=success&range=7d`);
    await page.locator('table.events tbody tr[data-event-id]').first().waitFor();
    await page.getByRole('button', { name: 'Export…' }).click();
    await page.getByLabel('Name').fill('successes this week');
    await page.getByLabel('Format').selectOption('csv');
    await page.getByRole('button', { name: 'Start export' }).click();
    await page.getByRole('status').filter({ hasText: 'queued' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('link', { name: 'Export history' }).click();
    const row = page.locator('table.jobs tbody tr').filter({ hasText: 'successes this week' });
    await row.getByText('Completed').waitFor({ timeout: 10_000 });
    await shot('export-history');
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('successes_this_week.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trim().split('\r\n');
    expect(header!.split(',')[0]).toBe('event_id');
    const listed = (await apiGet<{ events: Array<{ event_id: string }> }>(`/api/v1/events?outcome=success&limit=1000&from=${new Date(Date.now() - 7 * 24 * HOUR).toISOString()}`)).events.map((e) => e.event_id);
    expect(lines.map((l) => l.split(',')[0])).toEqual(listed);
    expect(listed).toEqual(expect.arrayContaining(seed.filter((e) => e.outcome === 'success').map((e) => e.id)));
  });

  it('shows per-field errors, then the last error of a destination whose receiver is down', async () => {
    await page.getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('button', { name: 'New destination' }).click();
    await page.getByLabel('Name', { exact: true }).fill('siem');
    await page.getByLabel('Endpoint URL').fill('ftp://not-http');
    await page.getByLabel('Max batch size').fill('5000');
    await page.getByRole('button', { name: 'Create destination' }).click();
    await expect.poll(() => page.locator('#d-endpoint-error').textContent()).toContain('http(s) URL');
    expect(await page.locator('#d-max_batch_size-error').textContent()).toContain('1 to 1000');
    expect(await page.getByLabel('Endpoint URL').getAttribute('aria-invalid')).toBe('true');
    await shot('destination-errors');

    // A receiver that is not listening: take a free port and close it.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    await page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${port}/v1/logs`);
    await page.getByLabel('Max batch size').fill('500');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header 1 name').fill('Authorization');
    await page.getByLabel('Header 1 value').fill('Bearer siem-secret-value');
    await page.getByRole('button', { name: 'Create destination' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect(await page.getByLabel('Header 1 value').inputValue()).toBe('***'); // masked once saved
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Test failed');
    await page.keyboard.press('Escape');

    await ingest([{ id: 'to-siem', event_type: 'siem.bound', actor: { id: 'u1' }, tenant_id: 'acme' }]);
    const row = page.locator('table.destinations tbody tr').filter({ hasText: 'siem' });
    await expect.poll(() => row.locator('.last-error').textContent(), { timeout: 15_000 }).toMatch(/network|ECONNREFUSED|connect/i);
    expect(await row.locator('.state').textContent()).not.toBe('ok');
    await shot('destinations-list');
    // The drawer shows the same last error (time, HTTP status or network, message).
    await row.getByRole('button', { name: 'Edit siem' }).click();
    await expect.poll(() => page.getByRole('dialog').locator('.status-box').textContent()).toMatch(/Last error:.*(network|ECONNREFUSED|connect)/i);
    await shot('destination-drawer', 'console-destination.png');
    await page.keyboard.press('Escape');
  });

  it('gives a read-only token no destinations page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(READER);
    expect(await page.getByRole('link', { name: 'Destinations' }).count()).toBe(0);
    await page.goto(`${sidecar.apiUrl}/?view=destinations`);
    await page.getByRole('alert').filter({ hasText: 'admin scope' }).waitFor();
    expect(await page.locator('table.destinations').count()).toBe(0);
  });
});
