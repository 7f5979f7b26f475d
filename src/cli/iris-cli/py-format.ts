/**
 * Values as glanceclient prints them, which is Python's: `True`/`False`/`None`, lists in a
 * detail table as `json.dumps` (`["a", "b"]`, non-ASCII escaped), lists in a list table as
 * `repr` (`['a', 'b']`), and falsy values as empty list-table cells. Scripts that scrape
 * glance's tables keep working on iris's.
 */

/** Python's `json.dumps(value)` with its default `", "` / `": "` separators and ensure_ascii. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(String(value));
}

/** Python's `repr()` of a JSON value. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    // repr picks double quotes only when the text has a single quote and no double quote.
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\t/g, '\\t')
      .replace(quote === "'" ? /'/g : /"/g, `\\${quote}`);
    return `${quote}${body}${quote}`;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** `str(value)` for a detail (`Property | Value`) table: containers become JSON. */
export function pyDetailCell(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return pyJsonDumps(value);
  return String(value);
}

/** A cell of a list table: glanceclient prints `value or ''`, so 0, False and [] are blank. */
export function pyListCell(value: unknown): string {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return '';
  if (Array.isArray(value)) return value.length === 0 ? '' : pyRepr(value);
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '' : pyRepr(value);
  if (typeof value === 'boolean') return 'True';
  return String(value);
}

/** Python's `str(value)` in a table cell (glanceclient's `print_dict_list`): containers as repr. */
export function pyStrCell(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}
