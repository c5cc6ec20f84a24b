/**
 * The body of POST /v1/audit: one JSON object, a JSON array of objects, or NDJSON. A body
 * that is not JSON at all is a 400; inside a batch, an unusable item is reported by index.
 * Records are counted on the bytes before any is parsed (RecordLimitError past the limit).
 */
import { countJsonItems, countNdjsonLines } from '../../../pipelines/json/count-items.js';
import { badRequest } from '../../errors.js';
import { decodeUtf8 } from '../utf8.js';

export type BodyKind = 'json' | 'ndjson';

export interface ParsedItem {
  index: number;
  /** The parsed value, or the reason it could not be parsed. */
  value?: unknown;
  error?: string;
}

export function parseAuditBody(body: Buffer, kind: BodyKind, maxRecords = Number.MAX_SAFE_INTEGER): ParsedItem[] {
  if (kind === 'ndjson') countNdjsonLines(body, maxRecords);
  else countJsonItems(body, maxRecords, { topLevel: true });
  let text: string;
  try {
    text = decodeUtf8(body);
  } catch (error) {
    throw badRequest((error as Error).message);
  }
  if (kind === 'ndjson') {
    const items: ParsedItem[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const index = items.length;
      try {
        items.push({ index, value: JSON.parse(line) });
      } catch (error) {
        items.push({ index, error: `line is not JSON: ${(error as Error).message}` });
      }
    }
    if (items.length === 0) throw badRequest('the body holds no records');
    return items;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw badRequest('the body holds no records');
    return parsed.map((value, index) => ({ index, value }));
  }
  return [{ index: 0, value: parsed }];
}
