/**
 * The JSON profiles a sidecar knows (built in and from config), detection of a record's
 * profile by its shape, and normalization of one record through a profile.
 */
import type { AuditEvent } from '../../schemas/audit-event.js';
import { finishEvent, type IngestContext } from '../normalize/event.js';
import { InvalidValueError, type RejectionReason } from '../otlp/values.js';
import { betterstackProfile } from './betterstack.js';
import { canonicalProfile } from './canonical.js';
import { cloudeventsProfile } from './cloudevents.js';
import { configuredProfile } from './configured.js';
import type { JsonObject } from './fields.js';
import type { JsonProfile } from './profile.js';
import { retracedProfile } from './retraced.js';
import { workosProfile } from './workos.js';

const BUILT_IN: readonly JsonProfile[] = [canonicalProfile, betterstackProfile, retracedProfile, cloudeventsProfile, workosProfile];
/** Detection order: the most specific shapes first (WorkOS events carry organization_id, which betterstack also matches). */
const DETECTION_ORDER: readonly JsonProfile[] = [cloudeventsProfile, workosProfile, retracedProfile, betterstackProfile, canonicalProfile];

export type JsonResult = { ok: true; event: AuditEvent } | { ok: false; error: string; reason: RejectionReason };

export class ProfileRegistry {
  private readonly byName = new Map<string, JsonProfile>();

  constructor(configured: Readonly<Record<string, Readonly<Record<string, string>>>> = {}) {
    for (const profile of BUILT_IN) this.byName.set(profile.name, profile);
    for (const [name, mapping] of Object.entries(configured)) this.byName.set(name, configuredProfile(name, mapping));
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get(name: string): JsonProfile | undefined {
    return this.byName.get(name);
  }

  detect(record: JsonObject): JsonProfile | undefined {
    return DETECTION_ORDER.find((profile) => profile.matches(record));
  }

  /** One record through a profile (or the detected one) into an audit event. */
  normalize(record: JsonObject, profile: JsonProfile | undefined, ctx: IngestContext): JsonResult {
    const chosen = profile ?? this.detect(record);
    if (!chosen) {
      return {
        ok: false,
        reason: 'unknown_format',
        error: `cannot tell the format of this record: no recognisable event type and no actor; name a profile: /v1/audit/{${this.names.join('|')}}`,
      };
    }
    try {
      const raw = JSON.stringify(record);
      return { ok: true, event: finishEvent(chosen.map(record), `json:${chosen.name}`, raw, ctx, chosen.fields) };
    } catch (error) {
      if (error instanceof InvalidValueError) return { ok: false, error: error.message, reason: error.reason };
      throw error;
    }
  }
}
