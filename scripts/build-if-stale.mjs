#!/usr/bin/env node
/**
 * `npm start` and `npm test` build first; this keeps that cheap. It compiles (with
 * `tsc -b`, which recompiles only what changed) when a source file, folder or tsconfig is
 * newer than the stamp the last successful build left, and otherwise does nothing: a
 * walk of the source tree's timestamps takes milliseconds, tsc's own up-to-date check
 * about a second. A failed build leaves no stamp, so the next start tries again.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
// The folders the build compiles, as tsconfig.build.json names them.
const SOURCES = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')).include;
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time under a folder, folders included (a deleted file changes its folder). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const changed = Math.max(...[...SOURCES, ...CONFIGS].map((name) => newest(join(root, name))));
if (process.argv.includes('--force') || changed >= built) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
