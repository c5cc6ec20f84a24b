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
import { runSql } from './sql.js';
import { exitOnUncaughtError, restoreFatalSignalDefaults } from '../fatal-signals.js';

const USAGE = `usage: audit-sidecar <command> [options]

commands:
  start [--config FILE]                   run the sidecar (default config: ./otel-config.yaml)
  migrate [--config FILE]                 apply ClickHouse schema migrations and exit
  sql "SELECT …" [--config FILE] [--format FORMAT] [--write]
                                          run SQL on the store (read-only unless --write)
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

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: 'PrettyCompactMonoBlock' },
      write: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
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
    default:
      process.stderr.write(`audit-sidecar: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof StartupError || error instanceof StoreLockedError) {
      process.stderr.write(`audit-sidecar: ${error.message}\n`);
    } else if (error instanceof Error && error.name === 'TypeError' && /parseArgs|Unknown option/i.test(error.message)) {
      process.stderr.write(`audit-sidecar: ${error.message}\n\n${USAGE}`);
    } else {
      process.stderr.write(`audit-sidecar: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
