#!/usr/bin/env node
/**
 * The audit-sidecar command: start | migrate | sql. Every path closes the store (and
 * drains chDB) before the process exits.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, type SidecarConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { StartupError, startSidecar } from '../sidecar.js';
import { StoreLockedError } from '../store/clickhouse-client.js';
import { runMigrate } from './migrate.js';
import { DEFAULT_FORMAT, runSql } from './sql.js';
import { runRotateKey, runVerify, runVerifyProof } from './integrity.js';
import { runRetentionApply } from './retention.js';
import { exitOnUncaughtError, restoreFatalSignalDefaults } from '../fatal-signals.js';

const USAGE = `usage: audit-sidecar <command> [options]

commands:
  start [--config FILE]                   run the sidecar (default config: ./otel-config.yaml)
  migrate [--config FILE]                 apply ClickHouse schema migrations and exit
  sql "SELECT …" [--config FILE] [--format FORMAT] [--write]
                                          run SQL through the running sidecar's API, else on the
                                          store (read-only unless --write); FORMAT defaults to JSONEachRow
  verify [--from T] [--to T] [--tenant X] [--public-key FILE] [--config FILE]
                                          check the store against its signed checkpoints (exit 0 only when clean)
  verify-proof FILE --public-key FILE     check one event's proof (GET /api/v1/events/{id}/proof) offline
  rotate-key [--config FILE]              a new checkpoint signing key (old public keys are kept)
  retention apply [--config FILE]         apply retention.default_days, tenants and holds to stored rows
`;

async function loadConfig(path: string | undefined): Promise<SidecarConfig> {
  const file = path ?? 'otel-config.yaml';
  if (!path && !existsSync(file)) throw new ConfigError(file, ['no config file; pass --config FILE']);
  return loadConfigFile(file);
}

async function start(configPath: string | undefined): Promise<number> {
  const config = await loadConfig(configPath);
  const log = createLogger(config.logLevel, { collector_id: config.collectorId });
  const sidecar = await startSidecar(config, log);
  restoreFatalSignalDefaults();
  exitOnUncaughtError(log);
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn('second signal: exiting without draining', { signal });
        process.exit(1);
      }
      signalled = true;
      log.info('signal received, draining', { signal });
      sidecar.stop().then(
        () => resolve(0),
        (error: unknown) => {
          log.error('shutdown failed', { error: (error as Error).message });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The command being run, for how a failure is reported. */
let running: string | undefined;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: DEFAULT_FORMAT },
      write: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
      tenant: { type: 'string' },
      'public-key': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  running = command;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'start':
      return start(values.config);
    case 'migrate':
      return runMigrate(await loadConfig(values.config));
    case 'sql': {
      const sql = rest.join(' ').trim();
      if (!sql) {
        process.stderr.write('audit-sidecar sql: give the SQL as an argument\n');
        return 2;
      }
      return runSql(await loadConfig(values.config), sql, { format: values.format, write: values.write });
    }
    case 'verify':
      return runVerify(await loadConfig(values.config), { from: values.from, to: values.to, tenant: values.tenant, publicKey: values['public-key'] });
    case 'verify-proof':
      if (!rest[0]) {
        process.stderr.write('audit-sidecar verify-proof: give the proof file\n');
        return 2;
      }
      return runVerifyProof(rest[0], values['public-key']);
    case 'rotate-key':
      return runRotateKey(await loadConfig(values.config));
    case 'retention':
      if (rest[0] !== 'apply') {
        process.stderr.write('audit-sidecar retention: the command is "retention apply"\n');
        return 2;
      }
      return runRetentionApply(await loadConfig(values.config));
    default:
      process.stderr.write(`audit-sidecar: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** What a failure says: our typed errors their own message, anything else its message (no stack trace). */
function failureOf(error: unknown): { msg: string; fields: Record<string, unknown> } {
  if (error instanceof ConfigError) return { msg: `invalid configuration in ${error.source}`, fields: { problems: error.problems } };
  if (error instanceof StartupError || error instanceof StoreLockedError) return { msg: error.message, fields: {} };
  const err = error instanceof Error ? error : new Error(String(error));
  return { msg: err.message, fields: { error_type: err.name, ...((err as NodeJS.ErrnoException).code ? { code: (err as NodeJS.ErrnoException).code } : {}) } };
}

/**
 * Exits once what was written to stdout is out: process.exit() drops output still queued
 * for a pipe (a `sql` result read by a script came back cut short).
 */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (error: unknown) => {
    if (error instanceof Error && error.name === 'TypeError' && /parseArgs|Unknown option/i.test(error.message)) {
      process.stderr.write(`audit-sidecar: ${error.message}\n\n${USAGE}`);
    } else if (running === 'start') {
      // The sidecar's own failures are log lines like everything else it writes.
      const { msg, fields } = failureOf(error);
      createLogger('info').error(`start-up failed: ${msg}`, fields);
    } else if (error instanceof ConfigError) {
      process.stderr.write(`audit-sidecar: ${error.message}\n`);
    } else {
      process.stderr.write(`audit-sidecar: ${failureOf(error).msg}\n`);
    }
    process.exit(1);
  },
);
