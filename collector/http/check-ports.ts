/**
 * Start-up checks that the listeners' addresses can be bound, before the store is opened
 * and migrated: a port in use (another sidecar?) is reported in a second, naming the
 * config key, instead of after migrations ran and another listener bound. The listeners
 * bind for real moment later; a port taken in between still fails there.
 */
import { createServer } from 'node:net';
import { StartupError } from '../errors.js';

export interface ListenerAddress {
  /** The config key that sets it, for the message. */
  key: string;
  host: string;
  port: number;
}

const HINTS: Record<string, string> = {
  EADDRINUSE: 'is already in use (another sidecar?): stop that process or choose another port',
  EADDRNOTAVAIL: 'is not an address of this machine',
  EACCES: 'needs privileges this process does not have: choose a port above 1023',
};

function tryBind({ key, host, port }: ListenerAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const hint = HINTS[error.code ?? ''] ?? `cannot be bound: ${error.message}`;
      reject(new StartupError(`${key}: ${host}:${port} ${hint}`, { cause: error }));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Throws a StartupError naming the first address that cannot be bound. Port 0 (any free port) is not checked. */
export async function checkPortsFree(addresses: ReadonlyArray<ListenerAddress>): Promise<void> {
  for (const address of addresses) if (address.port !== 0) await tryBind(address);
}
