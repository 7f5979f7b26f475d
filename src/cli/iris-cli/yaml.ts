/**
 * A small YAML writer for `-f yaml`: JSON data only (objects, arrays, strings, numbers,
 * booleans, null) in block style. Strings that YAML would read as something else (numbers,
 * booleans, null, text with `: ` or a leading indicator) are written double-quoted, which is
 * valid YAML with JSON's escapes.
 */

const PLAIN = /^[A-Za-z0-9_./@+(][A-Za-z0-9_ ./@+()=,:-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|null|~|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  const s = String(value);
  if (s !== '' && PLAIN.test(s) && !SPECIAL.test(s) && !s.endsWith(' ') && !s.includes(': ') && !s.endsWith(':') && !/\d{4}-\d\d-\d\d/.test(s)) {
    return s;
  }
  return JSON.stringify(s);
}

function isContainer(v: unknown): v is object {
  return v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

function emptyContainer(v: unknown): string | undefined {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return '{}';
  return undefined;
}

function lines(value: unknown, indent: string): string[] {
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isContainer(item)) {
        const inner = lines(item, `${indent}  `);
        out.push(`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
      } else out.push(`${indent}- ${emptyContainer(item) ?? scalar(item)}`);
    }
    return out;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (isContainer(v)) {
      out.push(`${indent}${scalar(key)}:`, ...lines(v, Array.isArray(v) ? indent : `${indent}  `));
    } else out.push(`${indent}${scalar(key)}: ${emptyContainer(v) ?? scalar(v)}`);
  }
  return out;
}

/**
 * YAML text for a JSON value, ending with a newline.
 *
 * @example toYaml({ id: 'x', tags: ['a'] }) // "id: x\ntags:\n- a\n"
 */
export function toYaml(value: unknown): string {
  const empty = emptyContainer(value);
  if (empty !== undefined) return `${empty}\n`;
  if (!isContainer(value)) return `${scalar(value)}\n`;
  return `${lines(value, '').join('\n')}\n`;
}
