/**
 * Values as glanceclient prints them, which is Python's: `True`/`False`/`None`, lists in a
 * detail table as `json.dumps` (`["a", "b"]`, non-ASCII escaped), lists in a list table as
 * `repr` (`['a', 'b']`), and falsy values as empty list-table cells. Scripts that scrape
 * glance's tables keep working on iris's. The Python text itself comes from domain/py-format.ts.
 */
import { pyJsonDumps, pyRepr, pyStr } from '../../domain/py-format.js';

/** `str(value)` for a detail (`Property | Value`) table: containers become JSON. */
export function pyDetailCell(value: unknown): string {
  if (typeof value === 'object' && value !== null) return pyJsonDumps(value);
  return pyStr(value);
}

/** A cell of a list table: glanceclient prints `value or ''`, so 0, False and [] are blank. */
export function pyListCell(value: unknown): string {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return '';
  if (Array.isArray(value)) return value.length === 0 ? '' : pyRepr(value);
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '' : pyRepr(value);
  return pyStr(value);
}

/** Python's `str(value)` in a table cell (glanceclient's `print_dict_list`): containers as repr. */
export function pyStrCell(value: unknown): string {
  return pyStr(value);
}
