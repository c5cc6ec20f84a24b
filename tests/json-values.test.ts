import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, parseJsonPath } from '../pipelines/json/json-path.js';
import { exceededLimit } from '../pipelines/json/limits.js';
import { resourceFromUrl } from '../pipelines/json/betterstack.js';
import { timestampToNanos } from '../pipelines/normalize/time.js';

describe('JSON paths', () => {
  it('parse and evaluate dotted, indexed and quoted segments', () => {
    const doc = { a: { 'b.c': [{ d: 1 }, { d: 2 }] }, e: 'x' };
    const path = parseJsonPath("$.a['b.c'][1].d");
    expect(path).toEqual(['a', 'b.c', 1, 'd']);
    expect(evaluateJsonPath(doc, path as string[])).toBe(2);
    expect(evaluateJsonPath(doc, parseJsonPath('$.e') as string[])).toBe('x');
    expect(evaluateJsonPath(doc, parseJsonPath('$.missing.deeper') as string[])).toBeUndefined();
    expect(evaluateJsonPath(doc, parseJsonPath('$.constructor') as string[])).toBeUndefined();
    expect(parseJsonPath('a.b')).toBe('a JSON path starts with $');
    expect(parseJsonPath('$.a..b')).toMatch(/cannot read the path/);
  });
});

describe('timestamps', () => {
  it.each([
    ['2026-11-21T10:00:00Z', '1795255200000000000'],
    ['2026-11-21T10:00:00.123456789Z', '1795255200123456789'],
    ['2026-11-21T11:00:00.5+01:00', '1795255200500000000'],
    ['2026-11-21 10:00:00+0000', '1795255200000000000'],
    [1795255200123, '1795255200123000000'],
    ['1795255200123', '1795255200123000000'],
    [1795255200123.5, '1795255200123500000'],
  ])('%j -> %s ns', (input, expected) => {
    expect(timestampToNanos(input, 'time')).toBe(expected);
  });

  it.each([['yesterday'], ['2026-13-45T99:00:00Z'], [-5], [{}]])('rejects %j', (input) => {
    expect(() => timestampToNanos(input, 'time')).toThrow('time must be an RFC 3339 time or epoch milliseconds');
  });
});

describe('limits and URL resources', () => {
  it('finds depth and string-length violations without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(exceededLimit(deep, { maxDepth: 32, maxStringLength: 10 })).toBe('nested deeper than 32 levels');
    expect(exceededLimit({ a: 'x'.repeat(11) }, { maxDepth: 32, maxStringLength: 10 })).toBe('a string is longer than 10 characters');
    expect(exceededLimit({ a: [{ b: 'ok' }] }, { maxDepth: 3, maxStringLength: 10 })).toBeUndefined();
  });

  it('reads /{type}s/{id} from the end of a URL path', () => {
    expect(resourceFromUrl('https://x/team/3/monitors/175')).toEqual({ type: 'monitor', id: '175' });
    expect(resourceFromUrl('https://x/api/status-pages/ab%20c/')).toEqual({ type: 'status_page', id: 'ab c' });
    expect(resourceFromUrl('https://x/team/3/monitors')).toEqual({ type: '', id: '' });
    expect(resourceFromUrl('not a url')).toEqual({ type: '', id: '' });
  });
});
