/**
 * Collector-style `${env:NAME}` and `${env:NAME:-default}` substitution, applied to string
 * values after YAML parsing so a substituted value can never change the document's
 * structure. `$$` stands for a literal `$`. A reference without a default to a variable
 * that is not set is reported (with the key path it appears at), not silently made "".
 */

const REFERENCE = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Environment = Readonly<Record<string, string | undefined>>;

/** An `${env:NAME}` without a default whose variable is not set, and where it was used. */
export interface MissingVariable {
  name: string;
  path: Array<string | number>;
}

export function substituteString(value: string, env: Environment, onMissing?: (name: string) => void): string {
  return value.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$$') return '$';
    const found = env[name!];
    if (found !== undefined && found !== '') return found;
    if (fallback === undefined && found === undefined) onMissing?.(name!);
    return fallback ?? found ?? '';
  });
}

/** Returns a copy of a parsed YAML tree with every string value substituted; unset variables are pushed to `missing`. */
export function substituteEnv(node: unknown, env: Environment, missing: MissingVariable[] = [], path: Array<string | number> = []): unknown {
  if (typeof node === 'string') return substituteString(node, env, (name) => missing.push({ name, path }));
  if (Array.isArray(node)) return node.map((item, i) => substituteEnv(item, env, missing, [...path, i]));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = substituteEnv(value, env, missing, [...path, key]);
    return out;
  }
  return node;
}
