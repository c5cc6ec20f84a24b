/**
 * deploy/ cannot be run here (no Docker, no cluster), so its files are checked by parsing
 * them: every sidecar config in them loads with the environment they give it, the image
 * and compose listen beyond loopback only with tokens, compose runs the API listener with a
 * healthcheck, the Dockerfile copies what the build needs, and the Kubernetes memory limit
 * fits the measured peak.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfigFile, resolveConfig } from '../collector/config/load.js';
import { parseSizeBytes } from '../collector/config/units.js';
import { projectRoot } from '../collector/paths.js';

const root = projectRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const TOKENS = { AUDIT_INGEST_TOKEN: 'ingest-token-0123456789', AUDIT_ADMIN_TOKEN: 'admin-token-0123456789' };

type Service = { environment: Record<string, string>; ports?: string[]; healthcheck?: { test: string[] }; volumes?: string[]; build?: { dockerfile: string } };

describe('deploy/compose.yaml', () => {
  const compose = parse(read('deploy/compose.yaml')) as { services: Record<string, Service> };
  const sidecar = compose.services['audit-sidecar']!;
  /** Compose's ${VAR:?…} and ${VAR:-default} resolved as compose would, with the variables set. */
  const environment = Object.fromEntries(
    Object.entries(sidecar.environment).map(([key, value]) => [key, value.replace(/\$\{(\w+):[?-]([^}]*)\}/g, (_m, name: string) => ({ INGEST_TOKEN: TOKENS.AUDIT_INGEST_TOKEN, ADMIN_TOKEN: TOKENS.AUDIT_ADMIN_TOKEN })[name] ?? 'change-me')]),
  );

  it('runs the API listener, published, with a healthcheck on /readyz', async () => {
    expect(sidecar.ports).toEqual(expect.arrayContaining(['4318:4318', '4319:4319']));
    expect(sidecar.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:4319/readyz');
    const mounted = sidecar.volumes!.find((v) => v.endsWith(':/app/otel-config.yaml:ro'))!.split(':')[0]!;
    const config = await loadConfigFile(join(root, 'deploy', mounted), environment);
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: 4319 });
    expect(config.ingest).toMatchObject({ host: '0.0.0.0', port: 4318 });
    expect(config.store.endpoint).toBe('http://clickhouse:8123');
    expect(config.store.connectTimeoutMs).toBeGreaterThanOrEqual(60_000);
    expect(config.tokens.map((t) => t.scopes)).toEqual([['ingest'], ['admin']]);
  });

  it('refuses to start without its tokens (compose demands them, the config names them)', async () => {
    expect(sidecar.environment.INGEST_TOKEN).toMatch(/^\$\{INGEST_TOKEN:\?/);
    expect(sidecar.environment.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/);
    const { ADMIN_TOKEN: _unset, ...withoutAdmin } = environment;
    const error = await loadConfigFile(join(root, 'deploy/otel-config.server.yaml'), withoutAdmin).catch((e: unknown) => e);
    expect((error as ConfigError).problems).toEqual([expect.stringContaining('auth.tokens[1].token: the environment variable ADMIN_TOKEN is not set')]);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));

  it('copies everything the build on install needs', () => {
    // npm ci runs prepare, which runs the build script and what it names.
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const files = `${scripts.prepare} ${scripts.build}`.match(/\b[\w-]+\/[\w./-]+\.m?js\b/g) ?? [];
    for (const file of files) expect(copied.some((c) => file === c || file.startsWith(`${c}/`)), `${file} copied`).toBe(true);
    for (const include of (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include) expect(copied).toContain(include);
    for (const c of copied) expect(existsSync(join(root, c)), c).toBe(true);
  });

  it('listens on 0.0.0.0 only with both tokens set, and checks its health', async () => {
    expect(dockerfile).toMatch(/^COPY deploy\/otel-config\.image\.yaml otel-config\.yaml$/m);
    expect(dockerfile).toMatch(/^EXPOSE 4318 4319$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD .*127\.0\.0\.1:4319\/readyz/m);
    const config = await loadConfigFile(join(root, 'deploy/otel-config.image.yaml'), TOKENS);
    expect(config.ingest.host).toBe('0.0.0.0');
    expect(config.api?.host).toBe('0.0.0.0');
    expect(config.store.endpoint).toBe('embedded:///app/data');
    const error = await loadConfigFile(join(root, 'deploy/otel-config.image.yaml'), {}).catch((e: unknown) => e);
    expect((error as ConfigError).problems).toEqual([
      expect.stringContaining('the environment variable AUDIT_INGEST_TOKEN is not set'),
      expect.stringContaining('the environment variable AUDIT_ADMIN_TOKEN is not set'),
    ]);
  });
});

describe('deploy/kubernetes-sidecar.yaml', () => {
  const documents = parseAllDocuments(read('deploy/kubernetes-sidecar.yaml')).map((d) => d.toJS() as Record<string, any>);
  const configMap = documents.find((d) => d.kind === 'ConfigMap')!;
  const deployment = documents.find((d) => d.kind === 'Deployment')!;
  const container = (deployment.spec.template.spec.containers as Array<Record<string, any>>).find((c) => c.name === 'audit-sidecar')!;

  it('gives the sidecar memory for its measured peak (866-1,124 MiB) with headroom', () => {
    const MiB = 1024 * 1024;
    const limit = parseSizeBytes(container.resources.limits.memory.replace(/i$/, 'iB'))!;
    const request = parseSizeBytes(container.resources.requests.memory.replace(/i$/, 'iB'))!;
    expect(limit).toBeGreaterThanOrEqual(1.25 * 1124 * MiB);
    expect(request).toBeGreaterThanOrEqual(866 * MiB);
    expect(request).toBeLessThanOrEqual(limit);
  });

  it('mounts a config that loads, listening on loopback inside the pod', () => {
    const config = resolveConfig(parse(configMap.data['otel-config.yaml']), { POD_NAME: 'billing-api-0' });
    expect(config.ingest).toMatchObject({ host: '127.0.0.1', port: 4318 });
    expect(config.collectorId).toBe('billing-api-0');
    const mount = (container.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === 'config')!;
    expect(container.args).toEqual(['start', '--config', `${mount.mountPath}/otel-config.yaml`]);
  });
});
