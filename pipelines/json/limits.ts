/**
 * Limits on one parsed JSON record, checked without recursion (so a hostile document
 * cannot overflow the stack): nesting depth and string length.
 */

export interface JsonLimits {
  maxDepth: number;
  maxStringLength: number;
}

/** The first limit the value breaks, as a message; undefined when it keeps them all. */
export function exceededLimit(value: unknown, limits: JsonLimits): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.length > limits.maxStringLength) return `a string is longer than ${limits.maxStringLength} characters`;
    } else if (current !== null && typeof current === 'object') {
      if (depth > limits.maxDepth) return `nested deeper than ${limits.maxDepth} levels`;
      for (const [key, child] of Object.entries(current)) {
        if (key.length > limits.maxStringLength) return `a key is longer than ${limits.maxStringLength} characters`;
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
