/**
 * `betterstack`: the audit-log drain payload of Better Stack (seed 000):
 * {email, event, ip, message, name, organization_id, team_id, url, user_id}.
 */
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { normalizeMethod } from '../normalize/derive.js';
import { rest, text } from './fields.js';
import type { JsonProfile } from './profile.js';

const KNOWN = new Set(['email', 'event', 'ip', 'message', 'name', 'organization_id', 'team_id', 'url', 'user_id']);
const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete', GET: 'read' };

/** ".../monitors/175" -> { type: "monitor", id: "175" }: the URL path's trailing collection and id. */
export function resourceFromUrl(url: string): { type: string; id: string } {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return { type: '', id: '' };
  }
  const match = /\/([A-Za-z][\w-]*?)s\/([^/]+)\/?$/.exec(path);
  return match ? { type: match[1]!.replace(/-/g, '_'), id: decodeURIComponent(match[2]!) } : { type: '', id: '' };
}

export const betterstackProfile: JsonProfile = {
  name: 'betterstack',
  fields: { eventType: 'event', actor: 'user_id, name or email' },
  matches: (record) => 'organization_id' in record || (typeof record.event === 'string' && / request$/i.test(record.event) && 'url' in record),
  map(record): EventDraft {
    const event = text(record.event);
    const method = normalizeMethod(event);
    const url = text(record.url);
    const resource = resourceFromUrl(url);
    const verb = METHOD_VERBS[method];
    return {
      ...emptyDraft(),
      tenant: text(record.organization_id),
      // "DELETE request" on .../monitors/175 is a monitor.delete; without a resource, the event text.
      eventType: resource.type && verb ? `${resource.type}.${verb}` : event,
      actorId: text(record.user_id),
      actorName: text(record.name),
      actorEmail: text(record.email),
      actorType: 'user',
      clientIp: text(record.ip),
      teamId: text(record.team_id),
      resourceType: resource.type,
      resourceId: resource.id,
      requestMethod: method,
      requestUrl: url,
      message: text(record.message),
      metadata: rest(record, KNOWN),
    };
  },
};
