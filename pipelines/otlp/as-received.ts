/**
 * When an OTLP record may leave as the very bytes it arrived in: the one rule, used by
 * ingest (which keeps those bytes beside the row in the ingest log) and by export (which
 * reads a record's tenant and uid back the same way when it re-encodes one from `raw`).
 */
import { DEFAULT_TENANT } from '../normalize/event.js';

/** An attribute in either form a record comes in: decoded protobuf, or OTLP/JSON as stored in `raw`. */
interface AttributeLike {
  key?: string | null;
  value?: { stringValue?: unknown } | null;
}

/** The first attribute named `key`, if its value is a string: how export reads a record's `raw` back. */
export function firstStringAttribute(attributes: ReadonlyArray<AttributeLike>, key: string): string | undefined {
  const value = attributes.find((a) => a.key === key)?.value?.stringValue;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The tenant a record names by itself, as export reads it back: its first string
 * `audit.tenant.id`, else its resource's `tenant.id`, else the default tenant. Export adds
 * `audit.tenant.id` to a record whose stored tenant differs (a tenant-bound token).
 */
export function claimedTenant(attributes: ReadonlyArray<AttributeLike>, resourceAttributes: Readonly<Record<string, string>>): string {
  return firstStringAttribute(attributes, 'audit.tenant.id') ?? (resourceAttributes['tenant.id'] || DEFAULT_TENANT);
}

/**
 * The record's bytes as received, when export would send the record unchanged: export
 * adds `log.record.uid` to a record without a string one, `audit.tenant.id` when the
 * stored tenant is not the claimed one, and `time_unix_nano` (the stored occurred_at) to
 * a record without one (the caller checks that); see otlp-encoder.ts.
 */
export function sendableAsReceived(
  wire: Uint8Array | undefined,
  attributes: ReadonlyArray<AttributeLike>,
  resourceAttributes: Readonly<Record<string, string>>,
  tenant: string,
): Uint8Array | undefined {
  if (!wire || firstStringAttribute(attributes, 'log.record.uid') === undefined) return undefined;
  return claimedTenant(attributes, resourceAttributes) === tenant ? wire : undefined;
}
