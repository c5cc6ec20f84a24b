/**
 * `audit-sidecar sql --format` for rows that came through the API as JSON: the same
 * formats ClickHouse prints on the direct path, for the ones analysts use most, so the
 * output does not depend on which path answered.
 */

type Row = Record<string, unknown>;

const cell = (value: unknown): string => (value === null || value === undefined ? '\\N' : typeof value === 'object' ? JSON.stringify(value) : String(value));
const csvCell = (value: unknown): string => {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return cell(value);
  return `"${cell(value).replace(/"/g, '""')}"`;
};
const tsvCell = (value: unknown): string => cell(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

function pretty(rows: Row[], columns: string[]): string {
  const values = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...values.map((v) => v[i]!.length)));
  const line = (left: string, fill: string, sep: string, right: string, labels?: string[]) =>
    left + widths.map((w, i) => (labels ? `${fill}${labels[i]!}${fill.repeat(w - labels[i]!.length + 1)}` : fill.repeat(w + 2))).join(sep) + right;
  return [
    line('┌', '─', '┬', '┐', columns),
    ...values.map((v) => `│ ${v.map((text, i) => text.padEnd(widths[i]!)).join(' │ ')} │`),
    line('└', '─', '┴', '┘'),
  ].join('\n') + '\n';
}

const FORMATS: Record<string, (rows: Row[], columns: string[]) => string> = {
  JSONEachRow: (rows) => rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
  JSON: (rows) => `${JSON.stringify({ data: rows, rows: rows.length }, null, 1)}\n`,
  CSV: (rows, columns) => rows.map((row) => `${columns.map((c) => csvCell(row[c])).join(',')}\n`).join(''),
  CSVWithNames: (rows, columns) => `${columns.map((c) => csvCell(c)).join(',')}\n${FORMATS.CSV!(rows, columns)}`,
  TabSeparated: (rows, columns) => rows.map((row) => `${columns.map((c) => tsvCell(row[c])).join('\t')}\n`).join(''),
  TabSeparatedWithNames: (rows, columns) => `${columns.join('\t')}\n${FORMATS.TabSeparated!(rows, columns)}`,
  PrettyCompact: (rows, columns) => (columns.length === 0 ? '' : pretty(rows, columns)),
};
const ALIASES: Record<string, string> = { TSV: 'TabSeparated', TSVWithNames: 'TabSeparatedWithNames', PrettyCompactMonoBlock: 'PrettyCompact', Pretty: 'PrettyCompact' };

export const API_FORMATS = [...Object.keys(FORMATS), ...Object.keys(ALIASES)];

/** The rows in `format`; undefined when the format is not one this client renders. */
export function formatRows(rows: Row[], format: string): string | undefined {
  const render = FORMATS[ALIASES[format] ?? format];
  return render?.(rows, rows[0] ? Object.keys(rows[0]) : []);
}
