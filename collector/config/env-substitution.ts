/**
 * Collector-style `${env:NAME}` and `${env:NAME:-default}` substitution, applied to string
 * values after YAML parsing so a substituted value can never change the document's
 * structure. `$$` stands for a literal `$`.
 */

const REFERENCE = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Environment = Readonly<Record<string, string | undefined>>;

export function substituteString(value: string, env: Environment): string {
  return value.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$$') return '$';
    const found = env[name!];
    if (found !== undefined && found !== '') return found;
    return fallback ?? '';
  });
}

/** Returns a copy of a parsed YAML tree with every string value substituted. */
export function substituteEnv(node: unknown, env: Environment): unknown {
  if (typeof node === 'string') return substituteString(node, env);
  if (Array.isArray(node)) return node.map((item) => substituteEnv(item, env));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = substituteEnv(value, env);
    return out;
  }
  return node;
}
