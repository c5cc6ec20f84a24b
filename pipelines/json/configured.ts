/**
 * Profiles defined in config (`receivers.audit_json.profiles`): a map from schema column to
 * a JSON path in the input. Columns not mapped stay empty or are derived as usual.
 */
import { InvalidValueError } from '../otlp/values.js';
import { emptyDraft, type EventDraft } from '../normalize/event.js';
import { timestampToNanos } from '../normalize/time.js';
import { isObject, jsonObject, text, type JsonObject } from './fields.js';
import { evaluateJsonPath, parseJsonPath, type PathSegment } from './json-path.js';
import type { JsonProfile } from './profile.js';

/** The columns a profile may map, and the draft field each fills. */
export const MAPPABLE_COLUMNS = {
  event_id: 'eventId', tenant_id: 'tenant', event_type: 'eventType', action: 'action', outcome: 'outcome',
  actor_id: 'actorId', actor_name: 'actorName', actor_email: 'actorEmail', actor_type: 'actorType',
  client_ip: 'clientIp', user_agent: 'userAgent', team_id: 'teamId', project_id: 'projectId',
  resource_type: 'resourceType', resource_id: 'resourceId', resource_name: 'resourceName',
  request_method: 'requestMethod', request_url: 'requestUrl', message: 'message',
  service_name: 'serviceName', severity_text: 'severityText',
} as const satisfies Record<string, keyof EventDraft>;

type TextColumn = keyof typeof MAPPABLE_COLUMNS;
export type ProfileColumn = TextColumn | 'occurred_at' | 'changes' | 'metadata';

export function isProfileColumn(column: string): column is ProfileColumn {
  return column in MAPPABLE_COLUMNS || column === 'occurred_at' || column === 'changes' || column === 'metadata';
}

/** Builds a profile from validated config; throws on an unknown column or a bad path. */
export function configuredProfile(name: string, mapping: Readonly<Record<string, string>>): JsonProfile {
  const paths = Object.entries(mapping).map(([column, path]) => {
    const segments = parseJsonPath(path);
    if (!isProfileColumn(column)) throw new Error(`${column}: not a column a profile can map`);
    if (typeof segments === 'string') throw new Error(`${column}: ${segments}`);
    return { column, segments };
  });
  const describe = (columns: string[]) => columns.filter((c) => c in mapping).map((c) => mapping[c]).join(', ') || 'not mapped';
  return {
    name,
    fields: { eventType: describe(['event_type']), actor: describe(['actor_id', 'actor_name', 'actor_email']) },
    matches: () => false, // chosen by name only
    map(record: JsonObject): EventDraft {
      const draft = emptyDraft();
      for (const { column, segments } of paths) apply(draft, column, evaluateJsonPath(record, segments));
      return draft;
    },
  };
}

function apply(draft: EventDraft, column: ProfileColumn, value: unknown): void {
  if (value === undefined || value === null) return;
  switch (column) {
    case 'occurred_at':
      draft.occurredAt = timestampToNanos(value, 'occurred_at');
      return;
    case 'changes':
    case 'metadata': {
      const object = jsonObject(value);
      if (!object) throw new InvalidValueError(`${column} must be a JSON object`);
      draft[column] = object;
      return;
    }
    default:
      (draft[MAPPABLE_COLUMNS[column]] as string) = isObject(value) || Array.isArray(value) ? JSON.stringify(value) : text(value);
  }
}

export type { PathSegment };
