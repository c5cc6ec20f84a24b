/**
 * The README as a new user reads it: the Node.js SDK snippet is run as written (a real
 * OpenTelemetry SDK in a child process) against a started sidecar, and the configuration
 * reference and environment-variable table are checked against the config schema and
 * otel-config.yaml, so none of them can drift.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../collector/paths.js';
import type { Sidecar } from '../collector/sidecar.js';
import { configSchema } from '../collector/config/schema.js';
import { queryRows, startTestSidecar, tempDir } from './support/sidecar.js';

const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

/** The body of the fenced block that follows the first line matching `after`. */
function codeBlockAfter(after: RegExp, language: string): string {
  const start = readme.search(after);
  expect(start, `README has ${after}`).toBeGreaterThanOrEqual(0);
  const open = readme.indexOf('```' + language + '\n', start);
  const close = readme.indexOf('\n```', open + 4);
  return readme.slice(open + 4 + language.length, close + 1);
}

/** The first markdown table after a heading, as rows of cells. */
function tableAfter(heading: RegExp, firstColumn: string): string[][] {
  const section = readme.slice(readme.search(heading));
  const lines = section.split('\n');
  const header = lines.findIndex((line) => line.startsWith(`| ${firstColumn} |`));
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
  }
  return rows;
}

describe('the README Node.js SDK snippet', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startTestSidecar({ dataDir: tempDir() });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('stores its event when run as written', async () => {
    const snippet = codeBlockAfter(/^Node\.js, emitting one audit event/m, 'js');
    expect(snippet).toContain("'http://127.0.0.1:4318/v1/logs'");
    const dir = tempDir('audit-sidecar-readme-');
    // The snippet imports the SDK packages; resolve them from this checkout.
    symlinkSync(join(projectRoot(), 'node_modules'), join(dir, 'node_modules'), 'dir');
    const file = join(dir, 'snippet.mjs');
    writeFileSync(file, snippet.replace('http://127.0.0.1:4318/v1/logs', `${sidecar.ingestUrl}/v1/logs`));
    // Asynchronously: the sidecar answering it runs in this process.
    const run = await promisify(execFile)(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');

    const rows = await queryRows(sidecar, "SELECT * FROM audit.events WHERE service_name = 'billing-api'");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: 'acme',
      event_type: 'monitor.delete',
      action: 'delete',
      actor_id: 'u-17',
      actor_email: 'alice@example.com',
      client_ip: '203.0.113.9',
      resource_type: 'monitor',
      resource_id: '42',
      message: 'alice deleted monitor 42',
    });
  });
});

type Def = { type: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** Unwraps defaults, optionals and transforms down to the schema that holds the value's shape. */
function unwrap(schema: unknown): Def {
  let def = defOf(schema);
  while (def.type === 'default' || def.type === 'optional' || def.type === 'pipe' || def.type === 'prefault') {
    def = defOf(def.type === 'pipe' ? def.in : def.innerType);
  }
  return def;
}

/** Every key path of the schema: leaves (values) and inner nodes (sections). */
function schemaKeys(schema: unknown, prefix = ''): { leaves: string[]; sections: string[] } {
  const def = unwrap(schema);
  if (def.type !== 'object' || Object.keys(def.shape ?? {}).length === 0) return { leaves: [prefix], sections: [] };
  const out = { leaves: [] as string[], sections: prefix ? [prefix] : [] };
  for (const [key, child] of Object.entries(def.shape!)) {
    const inner = schemaKeys(child, prefix ? `${prefix}.${key}` : key);
    out.leaves.push(...inner.leaves);
    out.sections.push(...inner.sections);
  }
  return out;
}

/**
 * The keys the README's configuration table names, with its shorthand expanded: `….name`
 * continues the previous full key's section, and `, .name` or `, name` in the same cell
 * is a sibling of the cell's first key.
 */
function documentedKeys(): string[] {
  const keys: string[] = [];
  let section = '';
  for (const [cell] of tableAfter(/^## Configuration$/m, 'key')) {
    const names = [...cell!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    let first: string | undefined;
    for (const name of names) {
      let key: string;
      if (first === undefined) {
        key = name.startsWith('….') ? `${section}.${name.slice(2)}` : name;
        if (!name.startsWith('….')) section = name.slice(0, name.lastIndexOf('.'));
        first = key;
      } else {
        key = `${first.slice(0, first.lastIndexOf('.'))}.${name.replace(/^\./, '')}`;
      }
      keys.push(key);
    }
  }
  return keys;
}

describe('the README configuration reference', () => {
  const { leaves, sections } = schemaKeys(configSchema);
  const documented = documentedKeys();

  it('documents every key of the config schema', () => {
    expect(leaves.length).toBeGreaterThan(30);
    expect(leaves.filter((key) => !documented.includes(key))).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    // otlphttp/NAME exporters are validated by the destination schema (see Re-export).
    const extra = documented.filter((key) => !leaves.includes(key) && !sections.includes(key) && key !== 'exporters.otlphttp/NAME');
    expect(extra).toEqual([]);
  });

  it('lists every environment variable otel-config.yaml reads', () => {
    const config = readFileSync(join(projectRoot(), 'otel-config.yaml'), 'utf8');
    const used = [...config.replace(/#.*$/gm, '').matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g)].map((m) => ({ name: m[1]!, fallback: m[2] }));
    expect(used.length).toBeGreaterThan(2);
    const table = new Map(tableAfter(/^## Configuration$/m, 'variable').map(([name, fallback]) => [name!.replace(/`/g, ''), fallback!.replace(/`/g, '')]));
    for (const { name, fallback } of used) {
      expect(table.has(name), `${name} in the README's environment table`).toBe(true);
      expect(table.get(name), `${name}'s default`).toBe(fallback ?? 'none');
    }
  });
});
