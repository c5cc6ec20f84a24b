/**
 * Bearer-token authentication for every listener. Tokens are compared in constant time
 * (both sides hashed to a fixed length, then timingSafeEqual against every configured
 * token, without stopping at a match). Tokens are never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenConfig } from '../config/load.js';
import { forbidden, unauthorized } from '../errors.js';

export type Scope = 'ingest' | 'read' | 'admin';

export interface Principal {
  /** The token's name (config `name`, else token-N); `anonymous` when auth is off. Never the token. */
  name: string;
  /** Set when the token is bound to a tenant: it overrides any tenant in the data. */
  tenant: string | undefined;
  scopes: ReadonlySet<Scope>;
}

const ANONYMOUS: Principal = { name: 'anonymous', tenant: undefined, scopes: new Set<Scope>(['ingest', 'read', 'admin']) };

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export class TokenVerifier {
  private readonly entries: Array<{ hash: Buffer; principal: Principal }>;

  constructor(tokens: ReadonlyArray<TokenConfig>) {
    this.entries = tokens.map((t, i) => ({ hash: digest(t.token), principal: { name: t.name ?? `token-${i + 1}`, tenant: t.tenant, scopes: new Set(t.scopes) } }));
  }

  /** With no tokens configured, auth is off (listeners then bind to loopback only). */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** Returns who is calling, or throws 401 (no or unknown token) / 403 (missing scope). */
  authenticate(authorization: string | undefined, scope: Scope): Principal {
    if (!this.enabled) return ANONYMOUS;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorized();
    const presented = digest(match[1]!);
    let found: Principal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, presented) && !found) found = entry.principal;
    }
    if (!found) throw unauthorized();
    // admin includes read: whoever may change destinations and run SQL may read events.
    if (!found.scopes.has(scope) && !(scope === 'read' && found.scopes.has('admin'))) throw forbidden(`this token lacks the "${scope}" scope`);
    return found;
  }
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
