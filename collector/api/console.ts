/**
 * The web console: static files from console/ (Preact + htm, no build step) and the
 * vendored libraries from node_modules, served from memory with a strict
 * Content-Security-Policy (no inline script or style), ETags and cache headers. The page
 * holds no data: everything it shows comes from the API with the user's token.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import type { ApiEnv } from './env.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml' };

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** console/ beside collector/ (from the sources or from dist/). */
function consoleDirectory(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'console', 'index.html'))) return join(dir, 'console');
  }
  return undefined;
}

function asset(path: string): Asset {
  const body = readFileSync(path);
  return { body, type: TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Every file the console serves, by URL path under /console/. */
function loadAssets(): Map<string, Asset> | undefined {
  const dir = consoleDirectory();
  if (!dir) return undefined;
  const require = createRequire(import.meta.url);
  const htm = join(dirname(require.resolve('htm')), '..'); // htm/dist/htm.js
  const uplot = join(dirname(require.resolve('uplot')), '..'); // uplot/dist/uPlot.cjs.js
  const files = new Map<string, Asset>([
    ['vendor/htm-preact.js', asset(join(htm, 'preact', 'standalone.module.js'))],
    ['vendor/uplot.js', asset(join(uplot, 'dist', 'uPlot.esm.js'))],
    ['vendor/uplot.css', asset(join(uplot, 'dist', 'uPlot.min.css'))],
  ]);
  for (const name of readdirSync(dir)) if (/^[a-z0-9-]+\.(js|css|html|svg)$/.test(name)) files.set(name, asset(join(dir, name)));
  return files;
}

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function consoleRoutes() {
  const app = new Hono<ApiEnv>();
  const assets = loadAssets();
  const serve = (c: Context<ApiEnv>, name: string, cacheControl: string) => {
    const file = assets?.get(name);
    if (!file) return c.json({ error: assets ? 'no such file' : 'the console files are not installed' }, 404);
    const headers = { ...SECURITY_HEADERS, 'cache-control': cacheControl, etag: file.etag };
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(file.body), 200, { ...headers, 'content-type': file.type });
  };
  // The page is revalidated on every load; scripts and styles are cached briefly and revalidated by ETag.
  app.get('/', (c) => serve(c, 'index.html', 'no-cache'));
  app.get('/console/*', (c) => {
    const name = c.req.path.slice('/console/'.length);
    return name === 'index.html' ? c.json({ error: 'no such file' }, 404) : serve(c, name, 'public, max-age=300, must-revalidate');
  });
  return app;
}
