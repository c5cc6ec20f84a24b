/**
 * The text of an export (CSV, JSON, NDJSON), produced page by page from the store: memory
 * stays one page whatever the export's size (chDB hands back a query's whole result at
 * once, so an unbounded SELECT would hold it all). Shared by the synchronous export and
 * export jobs, so a job's file equals GET /api/v1/events/export of the same filters.
 */
import type { EventFilter } from './filter.js';
import { csvHeader, csvLine, toApiEvent } from './format.js';
import type { Cursor, EventQueries } from './queries.js';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const isExportFormat = (value: unknown): value is ExportFormat => EXPORT_FORMATS.includes(value as ExportFormat);

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
};

/** Yields the export's text in chunks: a header, then one chunk per page of `pageRows`. */
export async function* exportText(
  queries: EventQueries,
  filter: EventFilter,
  format: ExportFormat,
  pageRows: number,
  /** Called after each page with the rows written so far. */
  progress?: (rows: number) => void,
): AsyncGenerator<string> {
  if (format === 'csv') yield csvHeader();
  if (format === 'json') yield '[';
  let cursor: Cursor | undefined;
  let rows = 0;
  do {
    const page = await queries.page(filter, pageRows, cursor);
    let chunk = '';
    for (const row of page.rows) {
      const event = toApiEvent(row);
      if (format === 'csv') chunk += csvLine(event);
      else if (format === 'ndjson') chunk += `${JSON.stringify(event)}\n`;
      else chunk += `${rows === 0 ? '' : ','}\n${JSON.stringify(event)}`;
      rows += 1;
    }
    if (chunk) yield chunk;
    progress?.(rows);
    cursor = page.next;
  } while (cursor);
  if (format === 'json') yield '\n]\n';
}
