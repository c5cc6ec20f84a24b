/**
 * Makes fatal errors end the process. libchdb installs ClickHouse's handlers for the fatal
 * signals; its handler sleeps in the signal handler instead of ending the process, so when
 * V8 aborted on "heap out of memory" the process hung with no listeners, and a supervisor
 * waiting for it to exit never restarted it (measured: still alive after 60 s). Restoring
 * the default action (core dump / terminate) makes those signals end the process at once.
 *
 * Node has no direct sigaction; libuv restores SIG_DFL when a signal's last watcher stops,
 * so adding and removing a listener does it. Call after the store is open (chDB installs
 * its handlers when its engine starts).
 */
import type { Logger } from './log.js';

const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGABRT', 'SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP', 'SIGSYS'];

export function restoreFatalSignalDefaults(): void {
  const noop = () => {};
  for (const signal of FATAL_SIGNALS) {
    if (process.listenerCount(signal) > 0) continue; // someone handles it on purpose
    process.on(signal, noop);
    process.off(signal, noop);
  }
}

/**
 * An exception nothing caught leaves the sidecar in an unknown state: log it and exit
 * non-zero at once (no drain), so a supervisor restarts it. Acknowledged records are
 * already durable, so nothing acknowledged is lost.
 */
export function exitOnUncaughtError(log: Logger): void {
  const die = (kind: string) => (error: unknown) => {
    log.error(`${kind}: exiting`, { error: (error as Error)?.stack ?? String(error) });
    process.exit(70); // EX_SOFTWARE
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
}
