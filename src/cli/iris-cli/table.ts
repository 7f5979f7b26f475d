/**
 * Bordered, left-aligned tables in the layout glanceclient prints (prettytable):
 *
 *   +----+------+
 *   | ID | Name |
 *   +----+------+
 *   | 1  | a    |
 *   +----+------+
 *
 * Cells may hold several lines; with `maxWidth` every column wraps like glanceclient's
 * `--max-column-width` (see text-wrap.ts).
 */
import { wrapLine } from './text-wrap.js';

export interface TableOptions {
  /** Wrap any cell line longer than this many characters. */
  readonly maxWidth?: number;
}

const width = (s: string): number => [...s].length;

function cellLines(text: string, maxWidth: number | undefined): string[] {
  const lines = text.split('\n');
  if (maxWidth === undefined) return lines;
  return lines.flatMap((line) => (width(line) > maxWidth ? wrapLine(line, maxWidth) : [line]));
}

/**
 * The table as text, ending with a newline.
 *
 * @example renderTable(['ID', 'Name'], [['1', 'a']]) // "+----+------+\n| ID | Name |\n…"
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const limit = options.maxWidth ?? Infinity;
  // prettytable's rule: a column is as wide as its header, or its widest cell up to the limit;
  // cells wrap at the column width, so a wide header spares its column from wrapping.
  const widths = headers.map((h, i) =>
    Math.max(width(h), ...rows.map((row) => Math.min(limit, Math.max(...(row[i] ?? '').split('\n').map(width))))),
  );
  const body = rows.map((row) => headers.map((_, i) => cellLines(row[i] ?? '', options.maxWidth === undefined ? undefined : widths[i])));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join(' | ')} |`;
  const out = [rule, line(headers), rule];
  for (const row of body) {
    const height = Math.max(1, ...row.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(row.map((c) => c[k] ?? '')));
  }
  out.push(rule);
  return `${out.join('\n')}\n`;
}
