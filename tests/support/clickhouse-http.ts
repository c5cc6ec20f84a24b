/**
 * A ClickHouse server for tests, where none can be installed: clickhouse-http-server.mjs
 * (ClickHouse's HTTP interface, the part @clickhouse/client uses, over chDB) in a child
 * process of its own, on a data directory of its own.
 *
 *   const ch = await startClickHouseHttp({ dataDir: tempDir() });
 *   // exporters.clickhouse.endpoint: ch.url
 *   await ch.kill();      // an outage: SIGKILL, as a crashed server
 *   await ch.restart();   // back on the same port, same data
 *   ch.pause(); ch.resume();  // a hung server: SIGSTOP, then SIGCONT
 *   await ch.stop();      // graceful; call in afterAll
 *
 * Every child is killed when this process exits, and a child whose parent is gone exits
 * by itself (it watches the IPC channel), so no server outlives its test file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER_SCRIPT = fileURLToPath(new URL('./clickhouse-http-server.mjs', import.meta.url));

export interface ClickHouseHttpOptions {
  /** The chDB data directory; no other process may hold it. */
  dataDir: string;
  /** Port to listen on; 0 (default) picks a free one, which restarts keep. */
  port?: number;
  /** Bound on start-up and on each stop or kill (default 30 s). */
  timeoutMs?: number;
}

export interface ClickHouseHttp {
  /** http://127.0.0.1:PORT, for `exporters.clickhouse.endpoint`; unchanged across restarts. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Whether a server process is up now. */
  readonly running: boolean;
  /** The current server process id, if one is up. */
  readonly pid: number | undefined;
  /** Starts the server again (after kill() or stop()) on the same port and data. */
  start(): Promise<void>;
  /** Graceful: requests in flight finish, chDB is closed. Safe twice and when not running. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or an outage; resolves once the process is gone. */
  kill(): Promise<void>;
  /** stop() if running, then start(). */
  restart(): Promise<void>;
  /** SIGSTOP: a hung server; connections open but nothing is answered until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

const live = new Set<ChildProcess>();
const spoolDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A private directory for the server's insert bodies (a killed server cannot remove its own). */
function makeSpoolDir(): string {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'clickhouse-http-'));
  spoolDirs.add(dir);
  return dir;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
  });
  await Promise.race([exited(child), timedOut]);
  clearTimeout(timer);
  await exited(child);
}

/** Forks the server and resolves with its port once it listens. */
function spawnServer(dataDir: string, port: number, timeoutMs: number): Promise<{ child: ChildProcess; port: number }> {
  const spoolDir = makeSpoolDir();
  const child = fork(SERVER_SCRIPT, [dataDir, String(port), spoolDir], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // Each request runs on chDB's libuv pool: room for a slow query beside inserts.
    env: { ...process.env, UV_THREADPOOL_SIZE: '8' },
  });
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
    rmSync(spoolDir, { recursive: true, force: true });
    spoolDirs.delete(spoolDir);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`the test ClickHouse server did not start: ${why}${stderr ? `\n${stderr}` : ''}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${signal ?? code})`);
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', onExit);
    child.on('error', (error) => fail(error.message));
    child.on('message', (message: { type?: string; port?: number }) => {
      if (settled || message.type !== 'listening' || typeof message.port !== 'number') return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ child, port: message.port });
    });
  });
}

export async function startClickHouseHttp(options: ClickHouseHttpOptions): Promise<ClickHouseHttp> {
  installExitHook();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const first = await spawnServer(options.dataDir, options.port ?? 0, timeoutMs);
  let child: ChildProcess | undefined = first.child;
  const port = first.port;

  const isUp = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;

  const server: ClickHouseHttp = {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir: options.dataDir,
    get running() {
      return isUp(child);
    },
    get pid() {
      return isUp(child) ? child.pid : undefined;
    },
    async start() {
      if (isUp(child)) return;
      // The port was ours a moment ago; a socket of the killed process can hold it briefly.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          child = (await spawnServer(options.dataDir, port, Math.max(1_000, deadline - Date.now()))).child;
          return;
        } catch (error) {
          if (Date.now() >= deadline || !/EADDRINUSE|exited \(3\)/.test(String(error))) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    pause() {
      if (isUp(child)) child.kill('SIGSTOP');
    },
    resume() {
      if (isUp(child)) child.kill('SIGCONT');
    },
    async stop() {
      if (!isUp(child)) return;
      const stopping = child;
      stopping.kill('SIGCONT');
      if (stopping.connected) stopping.send({ type: 'stop' });
      else stopping.kill('SIGTERM');
      await waitExit(stopping, timeoutMs);
    },
    async kill() {
      if (!isUp(child)) return;
      const killed = child;
      killed.kill('SIGKILL');
      await exited(killed);
    },
    async restart() {
      await server.stop();
      await server.start();
    },
  };
  return server;
}
