/**
 * Parses the prettytable boxes glanceclient prints (it has no `-f json`). Two shapes:
 * `Property | Value` (image-show, image-create, image-update: long values wrap onto rows whose
 * first cell is empty) and column tables (image-list: `ID | Name`).
 *
 * @example
 *   parseTable('+---+\n| ID | Name |\n+---+\n| 1 | a |\n+---+') // [{ ID: '1', Name: 'a' }]
 */

function cells(line: string): string[] {
  // "| a | b |" → ["a", "b"]; values never contain " | " in these tests.
  return line
    .slice(1, line.lastIndexOf('|'))
    .split('|')
    .map((c) => c.trim());
}

/** Rows of a column table (header row first), as objects keyed by the header. */
export function parseTable(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  if (lines.length === 0) return [];
  const header = cells(lines[0]!);
  return lines.slice(1).map((l) => {
    const row: Record<string, string> = {};
    cells(l).forEach((c, i) => {
      row[header[i] ?? String(i)] = c;
    });
    return row;
  });
}

/**
 * A `Property | Value` table as an object. Wrapped continuation rows (empty first cell) are
 * appended to the previous value without a separator: glanceclient wraps at a fixed width,
 * which is what splits 128-hex-digit sha512 values.
 */
export function parsePropertyTable(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const row of parseTable(text)) {
    const key = row.Property ?? '';
    const value = row.Value ?? '';
    if (key === '' && last !== undefined) out[last] += value;
    else {
      out[key] = value;
      last = key;
    }
  }
  return out;
}
