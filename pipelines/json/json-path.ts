/**
 * The JSON paths config-defined profiles use: `$.a.b`, `$.items[0].id`, `$['key.with.dots']`.
 * Parsed once when the config is loaded; evaluating one is a plain walk.
 */

export type PathSegment = string | number;

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;

/** Parses a path, or returns an error message. */
export function parseJsonPath(path: string): PathSegment[] | string {
  if (!path.startsWith('$')) return 'a JSON path starts with $';
  const segments: PathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match) return `cannot read the path at "${rest.slice(0, 20)}"`;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push((match[3] ?? match[4]!).replace(/\\(.)/g, '$1'));
    rest = rest.slice(match[0].length);
  }
  return segments;
}

export function evaluateJsonPath(root: unknown, segments: ReadonlyArray<PathSegment>): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}
