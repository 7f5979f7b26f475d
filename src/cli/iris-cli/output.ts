/**
 * How a command's result is written: glanceclient's tables by default, or (`-f`) JSON, YAML or
 * bare values for scripts, as the openstack CLI offers; `-c` keeps only some columns/fields.
 * Two result shapes exist, as in glanceclient: one record (`Property | Value`) and a list of
 * rows with fixed columns.
 */
import { pyDetailCell, pyListCell } from './py-format.js';
import { renderTable } from './table.js';
import { toYaml } from './yaml.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'value'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputOptions {
  readonly format: OutputFormat;
  /** Column or field names to keep (`-c`), in the order given; all when empty. */
  readonly columns: readonly string[];
  /** `--max-column-width` of a detail table. */
  readonly maxWidth?: number;
}

function scriptValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * One record, keys sorted as glanceclient sorts them.
 *
 * @example formatRecord({ id: 'x', protected: false }, { format: 'table', columns: [] })
 */
export function formatRecord(record: Readonly<Record<string, unknown>>, options: OutputOptions): string {
  let keys = Object.keys(record).sort();
  if (options.columns.length > 0) keys = options.columns.filter((c) => Object.prototype.hasOwnProperty.call(record, c));
  switch (options.format) {
    case 'json':
      return `${JSON.stringify(Object.fromEntries(keys.map((k) => [k, record[k]])), null, 2)}\n`;
    case 'yaml':
      return toYaml(Object.fromEntries(keys.map((k) => [k, record[k]])));
    case 'value':
      return keys.map((k) => `${scriptValue(record[k])}\n`).join('');
    default:
      return renderTable(
        ['Property', 'Value'],
        keys.map((k) => [k, pyDetailCell(record[k])]),
        { maxWidth: options.maxWidth },
      );
  }
}

/** A column of a list result: its heading and how to read it from a row object. */
export interface Column<T> {
  readonly header: string;
  readonly get: (row: T) => unknown;
  /** How a table cell spells the value; glanceclient's `value or ''` (pyListCell) by default. */
  readonly cell?: (value: unknown) => string;
}

/**
 * Rows under fixed columns. JSON and YAML give objects keyed by the column headings (as the
 * openstack CLI does), `value` one line per row with space-separated values.
 */
export function formatRows<T>(columns: readonly Column<T>[], rows: readonly T[], options: OutputOptions): string {
  const chosen =
    options.columns.length > 0
      ? options.columns.map((c) => columns.find((col) => col.header.toLowerCase() === c.toLowerCase())).filter((c): c is Column<T> => c !== undefined)
      : columns;
  switch (options.format) {
    case 'json':
      return `${JSON.stringify(rows.map((r) => Object.fromEntries(chosen.map((c) => [c.header, c.get(r) ?? null]))), null, 2)}\n`;
    case 'yaml':
      return toYaml(rows.map((r) => Object.fromEntries(chosen.map((c) => [c.header, c.get(r) ?? null]))));
    case 'value':
      return rows.map((r) => `${chosen.map((c) => scriptValue(c.get(r))).join(' ')}\n`).join('');
    default:
      return renderTable(
        chosen.map((c) => c.header),
        rows.map((r) => chosen.map((c) => (c.cell ?? pyListCell)(c.get(r)))),
      );
  }
}
