/**
 * Where the browser tests find Chromium: CHROMIUM_PATH, else Debian's /usr/bin/chromium.
 * Without it they are skipped, and the test summary says how to enable them.
 */
import { existsSync } from 'node:fs';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
export const CHROMIUM_HINT = `browser tests skipped: no Chromium at ${chromiumPath}. Enable them with "apt-get install -y chromium" (or set CHROMIUM_PATH to a Chromium binary).`;

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
