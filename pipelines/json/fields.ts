/** Reading loosely typed JSON fields the way every profile needs them. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar as text: strings as is, numbers and booleans printed; '' for absent or structured values. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return '';
}

export function object(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

/** A JSON object given as an object or as a JSON string holding one; {} when absent. */
export function jsonObject(value: unknown): JsonObject | undefined {
  if (value === undefined || value === null || value === '') return {};
  if (isObject(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (isObject(parsed)) return parsed;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** The fields of `record` not in `used`, as an object (for metadata). */
export function rest(record: JsonObject, used: ReadonlySet<string>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(record)) if (!used.has(key)) out[key] = value;
  return out;
}
