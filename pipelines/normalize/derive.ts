/**
 * Normalization shared by every input format: the verb class, outcome and actor type are
 * taken from what the source says when it says it, and derived from the event type,
 * HTTP method or severity when it only implies them.
 */
import { ACTIONS, ACTOR_TYPES, type Action, type ActorType, type Outcome } from '../../schemas/audit-event.js';

const ACTION_WORDS: Record<string, Action> = {
  create: 'create', created: 'create', add: 'create', added: 'create', insert: 'create', new: 'create', invite: 'create', invited: 'create', register: 'create',
  read: 'read', view: 'read', viewed: 'read', get: 'read', list: 'read', export: 'read', exported: 'read', download: 'read', downloaded: 'read', access: 'read', accessed: 'read', search: 'read',
  update: 'update', updated: 'update', edit: 'update', edited: 'update', modify: 'update', modified: 'update', change: 'update', changed: 'update', rename: 'update', renamed: 'update', patch: 'update', set: 'update', enable: 'update', enabled: 'update', disable: 'update', disabled: 'update',
  delete: 'delete', deleted: 'delete', remove: 'delete', removed: 'delete', destroy: 'delete', destroyed: 'delete', purge: 'delete', purged: 'delete',
  login: 'login', signin: 'login', sign_in: 'login', signedin: 'login', loggedin: 'login', logon: 'login', authenticate: 'login', authenticated: 'login',
  logout: 'logout', signout: 'logout', sign_out: 'logout', signedout: 'logout', loggedout: 'logout', logoff: 'logout',
  grant: 'grant', granted: 'grant', assign: 'grant', assigned: 'grant', share: 'grant', shared: 'grant',
  revoke: 'revoke', revoked: 'revoke', unassign: 'revoke', unassigned: 'revoke', unshare: 'revoke',
};

const METHOD_ACTIONS: Record<string, Action> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete', GET: 'read', HEAD: 'read' };

const FAILURE_WORDS = new Set(['fail', 'failed', 'failure', 'error', 'denied', 'deny', 'rejected', 'forbidden', 'unauthorized', 'invalid']);
const SUCCESS_VALUES = new Set(['success', 'succeeded', 'successful', 'ok', 'true', 'allowed', 'allow', 'pass', 'passed']);
const FAILURE_VALUES = new Set(['failure', 'fail', 'failed', 'error', 'denied', 'deny', 'false', 'rejected', 'blocked']);

const SEVERITY_ERROR = 17;

/** Splits "user.login_failed" into ["user", "login", "failed"] (also handles camelCase). */
function words(eventType: string): string[] {
  return eventType
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Event types repeat endlessly, so derivations are memoized per distinct input. The memo
 * is bounded: when full it starts over rather than grow with hostile input.
 */
function memoize<A extends Array<string | number>, R>(fn: (...args: A) => R, limit = 10_000): (...args: A) => R {
  let memo = new Map<string, R>();
  return (...args: A) => {
    let key = String(args[0]);
    for (let i = 1; i < args.length; i++) key += `\u0000${args[i]}`;
    let result = memo.get(key);
    if (result === undefined) {
      result = fn(...args);
      if (memo.size >= limit) memo = new Map();
      memo.set(key, result);
    }
    return result;
  };
}

/** The verb class from an explicit value, else the event type's words, else the HTTP method. */
export const deriveAction = memoize(function deriveAction(explicit: string, eventType: string, requestMethod: string): Action {
  if (explicit !== '') {
    const lower = explicit.toLowerCase();
    if ((ACTIONS as readonly string[]).includes(lower)) return lower as Action;
    return ACTION_WORDS[lower] ?? 'other';
  }
  const parts = words(eventType);
  const joined = parts.join('_');
  // sign_in, signed_in, log_in, logged_in (and _out): "user.signed_in" is a login.
  if (/(^|_)(sign|log)(ged|ed)?_?in($|_)/.test(joined)) return 'login';
  if (/(^|_)(sign|log)(ged|ed)?_?out($|_)/.test(joined)) return 'logout';
  for (let i = parts.length - 1; i >= 0; i--) {
    const action = ACTION_WORDS[parts[i]!];
    if (action) return action;
  }
  return METHOD_ACTIONS[requestMethod.toUpperCase()] ?? 'other';
});

/** success/failure/unknown from an explicit value, else the event type, else the severity. */
export const deriveOutcome = memoize(function deriveOutcome(explicit: string, eventType: string, severityNumber: number): Outcome {
  if (explicit !== '') {
    const lower = explicit.toLowerCase();
    if (SUCCESS_VALUES.has(lower)) return 'success';
    if (FAILURE_VALUES.has(lower)) return 'failure';
    return 'unknown';
  }
  if (words(eventType).some((w) => FAILURE_WORDS.has(w))) return 'failure';
  if (severityNumber >= SEVERITY_ERROR) return 'failure';
  if (severityNumber > 0) return 'success';
  return 'unknown';
});

/** The actor type from an explicit value, else `user` when a user is named. */
export function deriveActorType(explicit: string, hasUser: boolean): ActorType {
  if (explicit !== '') {
    const lower = explicit.toLowerCase().replace(/[\s-]/g, '_');
    if ((ACTOR_TYPES as readonly string[]).includes(lower)) return lower as ActorType;
    if (lower === 'apikey' || lower === 'token') return 'api_key';
    if (lower === 'oauth' || lower === 'oauth_client' || lower === 'client') return 'oauth2_client';
    if (lower === 'machine' || lower === 'bot' || lower === 'service_account') return 'service';
    return 'unknown';
  }
  return hasUser ? 'user' : 'unknown';
}

/** "DELETE request" / "delete" -> "DELETE"; '' when it is no HTTP method. */
export const normalizeMethod = memoize(function normalizeMethod(value: string): string {
  const method = value.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
  return /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)$/.test(method) ? method : '';
});
