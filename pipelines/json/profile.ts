import type { EventDraft } from '../normalize/event.js';
import type { JsonObject } from './fields.js';

/**
 * A JSON audit-event format: how to recognise it and how to read one record into a draft.
 * `map` throws InvalidValueError for a record it cannot use.
 */
export interface JsonProfile {
  readonly name: string;
  /** Whether a record has this format's shape (used when the URL names no profile). */
  matches(record: JsonObject): boolean;
  map(record: JsonObject): EventDraft;
  /** Where this format keeps the event type and the actor, for rejection messages. */
  readonly fields: { eventType: string; actor: string };
}
