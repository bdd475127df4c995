/**
 * Output of guestctl, as the OpenStack and StarlingX CLIs do it: `table` (aligned columns with a header),
 * `json` (the records as a JSON array, or one object for `show`), `value` (values only, space-separated,
 * one row per line: for shell scripts). Pure: returns text.
 */
import type { OutputFormat } from './cli-args.js';

export type Cell = string | number | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

/** Rows of a list, in `format`, restricted to `columns` when given (in that order). */
export function formatRows(rows: readonly Row[], allColumns: readonly string[], format: OutputFormat, columns: readonly string[] = []): string {
  const cols = columns.length > 0 ? columns : allColumns;
  const picked = rows.map((row) => Object.fromEntries(cols.map((c) => [c, row[c] ?? null])));
  switch (format) {
    case 'json':
      return `${JSON.stringify(picked, null, 2)}\n`;
    case 'value':
      return picked.map((row) => cols.map((c) => text(row[c] ?? null)).join(' ')).join('\n') + (picked.length > 0 ? '\n' : '');
    case 'table':
      return table(cols, picked.map((row) => cols.map((c) => text(row[c] ?? null))));
  }
}

/** One record as Field/Value lines (table), a JSON object, or its values one per line. */
export function formatRecord(record: Row, format: OutputFormat, columns: readonly string[] = []): string {
  const keys = columns.length > 0 ? columns : Object.keys(record);
  switch (format) {
    case 'json':
      return `${JSON.stringify(Object.fromEntries(keys.map((k) => [k, record[k] ?? null])), null, 2)}\n`;
    case 'value':
      return keys.map((k) => `${text(record[k] ?? null)}\n`).join('');
    case 'table':
      return table(['Field', 'Value'], keys.map((k) => [k, text(record[k] ?? null)]));
  }
}

function text(cell: Cell): string {
  if (cell === null) return '-';
  return String(cell).replace(/[\r\n\t]+/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const render = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line, render(header), line, ...rows.map(render), line].join('\n') + '\n';
}
