/**
 * Python's text for JSON-shaped values, the one place Iris reproduces it: Glance's messages
 * embed `repr()`/`str()` of user input (`%r`, `%s`), jsonschema's embed a
 * `pprint.pformat(width=72)`, oslo.policy substitutes `str()` of credentials, and
 * glanceclient prints `repr()` and `json.dumps()` in its tables. Pure: no I/O.
 *
 * Values are what `JSON.parse` gives (plus undefined, which prints as None at the top and
 * is left out of objects, as JSON leaves it out). JSON.parse cannot tell `1` from `1.0`, so
 * safe integers print as Python ints and everything else as a Python float; an integer
 * beyond 2^53 therefore prints as a float (Python keeps it an int). py-format.test.ts checks
 * every function against /usr/bin/python3.
 */

/**
 * Python's `repr()`: None/True/False, strings quoted as CPython picks, `{'k': v}` in insertion
 * order.
 * @example pyRepr({ a: [1, null, "it's"] }) === `{'a': [1, None, "it's"]}`
 */
export function pyRepr(value: unknown): string {
  return repr(value, false);
}

/** Python's `str()`: a string is itself, anything else its repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : repr(value, false);
}

/** Python's `pprint.pformat(value, width=72)` (dict keys sorted, long strings split). */
export function pyPformat(value: unknown): string {
  return pformat(value, 0, 0, 0);
}

/** Python's `json.dumps(value)`: `", "` / `": "` separators, ensure_ascii (non-ASCII as \uXXXX). */
export function pyJsonDumps(value: unknown): string {
  // JSON.stringify escapes quotes, backslashes and controls as json does; ensure_ascii also
  // escapes DEL and everything beyond ASCII, per UTF-16 unit (surrogate pairs). Such
  // characters can only stand inside strings, so one pass over the whole text does it.
  const json = pythonSpaced(value) ?? jsonText(value);
  return BEYOND_ASCII.test(json) ? json.replace(BEYOND_ASCII_ALL, (c) => `\\u${hex(c.charCodeAt(0), 4)}`) : json;
}

const BEYOND_ASCII = /[\u007f-\uffff]/;
const BEYOND_ASCII_ALL = /[\u007f-\uffff]/g;

const COMMA_BREAK = /,\n */g;
const BREAK = /\n */g;
/** A number token that is not a plain integer below 2^53: Python would print it as a float. */
const FLOAT_TOKEN = /(?:^|: |\[|, )-?\d+(?:[.eE]|\d{15})/;

/**
 * json.dumps's separators from V8's own serializer (notification bodies are built here, on
 * the request's path: about half the time of `jsonText`): indented by one, JSON.stringify
 * writes `": "` and breaks a line after each comma; line breaks never stand inside strings
 * (escaped there), so dropping each break and its indent leaves `, ` and nothing else.
 * Undefined when the value holds a number Python would print as a float (a token that looks
 * like one inside a string only costs the slower path).
 */
function pythonSpaced(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value, null, 1).replace(COMMA_BREAK, ', ').replace(BREAK, '');
  return FLOAT_TOKEN.test(text) ? undefined : text;
}

/** json.dumps's text before ensure_ascii. Loops and concatenation: every notification body goes through here. */
function jsonText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? reprNumber(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ', ') + jsonText(value[i]);
    return `${out}]`;
  }
  if (isObject(value)) {
    let out = '{';
    let first = true;
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      out += `${first ? '' : ', '}${JSON.stringify(key)}: ${jsonText(v)}`;
      first = false;
    }
    return `${out}}`;
  }
  return JSON.stringify(String(value));
}

/** Length as Python counts it (code points, not UTF-16 units). */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ------------------------------------------------------------------ repr --

/** Characters Python's `str.isspace()` (and `\s` in `re`) accept. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python's ordering of str (by code point; JS sorts by UTF-16 unit). */
export function compareCodePoints(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    // i is below both lengths.
    const d = (ca[i]!.codePointAt(0) ?? 0) - (cb[i]!.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

/** CPython's `unicode_repr`. */
function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      out += cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

/** CPython's `float.__repr__` (shortest round-trip digits, exponent outside 1e-4..1e16). */
function reprFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  // A finite number's exponential form always has a mantissa; the default never applies.
  const [mantissa = '', expText] = n.toExponential().split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    body = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return negative ? `-${body}` : body;
}

function reprNumber(n: number): string {
  // JSON.parse cannot tell 1 from 1.0, so integral values print as Python ints (what
  // Python's json gives for integer literals); beyond 2^53 the value can only have come
  // from an exponent literal in practice, which Python parses as a float.
  if (Number.isSafeInteger(n)) return String(n);
  return reprFloat(n);
}

function sortedEntries(obj: Record<string, unknown>): [string, unknown][] {
  return Object.entries(obj).sort(([a], [b]) => compareCodePoints(a, b));
}

/** `repr()` (sortDicts false) or pprint's `_safe_repr` (sortDicts true). */
function repr(value: unknown, sortDicts: boolean): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map((v) => repr(v, sortDicts)).join(', ')}]`;
  if (isObject(value)) {
    const entries = (sortDicts ? sortedEntries(value) : Object.entries(value)).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${reprString(k)}: ${repr(v, sortDicts)}`).join(', ')}}`;
  }
  return reprString(String(value));
}

// ------------------------------------------------------------ Python pprint --

const WIDTH = 72;

/** pprint's `_format`: the one-line repr if it fits, else the type's multi-line layout. */
function pformat(value: unknown, indent: number, allowance: number, level: number): string {
  const rep = repr(value, true);
  if (pyLen(rep) > WIDTH - indent - allowance) {
    if (Array.isArray(value)) return `[${formatItems(value, indent, allowance + 1, level + 1)}]`;
    if (isObject(value)) {
      const items = sortedEntries(value);
      return items.length === 0 ? '{}' : `{${formatDictItems(items, indent, allowance + 1, level + 1)}}`;
    }
    if (typeof value === 'string') return pformatString(value, indent, allowance, level + 1);
  }
  return rep;
}

function formatDictItems(
  items: readonly [string, unknown][],
  indent: number,
  allowance: number,
  level: number,
): string {
  const inner = indent + 1;
  let out = '';
  items.forEach(([key, value], i) => {
    const last = i === items.length - 1;
    const keyRep = reprString(key);
    out += `${keyRep}: ${pformat(value, inner + pyLen(keyRep) + 2, last ? allowance : 1, level)}`;
    if (!last) out += `,\n${' '.repeat(inner)}`;
  });
  return out;
}

function formatItems(items: readonly unknown[], indent: number, allowance: number, level: number): string {
  const inner = indent + 1;
  return items
    .map((item, i) => pformat(item, inner, i === items.length - 1 ? allowance : 1, level))
    .join(`,\n${' '.repeat(inner)}`);
}

/** Python's `str.splitlines(keepends=True)`. */
function splitLinesKeepEnds(s: string): string[] {
  return s.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])?/gu)?.filter((l) => l !== '') ?? [];
}

const WORD_AND_SPACE = new RegExp(`[^${PY_SPACE}]*[${PY_SPACE}]*`, 'gu');

/** pprint's `_pprint_str`: long strings become adjacent literals split after whitespace. */
function pformatString(s: string, indentIn: number, allowanceIn: number, level: number): string {
  let indent = indentIn;
  let allowance = allowanceIn;
  if (s.length === 0) return reprString(s);
  const lines = splitLinesKeepEnds(s);
  if (level === 1) {
    indent += 1;
    allowance += 1;
  }
  const maxWidth = WIDTH - indent;
  let maxWidth1 = maxWidth;
  const chunks: string[] = [];
  let rep = '';
  lines.forEach((line, i) => {
    rep = reprString(line);
    if (i === lines.length - 1) maxWidth1 -= allowance;
    if (pyLen(rep) <= maxWidth1) {
      chunks.push(rep);
      return;
    }
    const parts = (line.match(WORD_AND_SPACE) ?? []).filter((p) => p !== '');
    let maxWidth2 = maxWidth;
    let current = '';
    parts.forEach((part, j) => {
      const candidate = current + part;
      if (j === parts.length - 1 && i === lines.length - 1) maxWidth2 -= allowance;
      if (pyLen(reprString(candidate)) > maxWidth2) {
        if (current) chunks.push(reprString(current));
        current = part;
      } else {
        current = candidate;
      }
    });
    if (current) chunks.push(reprString(current));
  });
  if (chunks.length === 1) return rep;
  const joined = chunks.join(`\n${' '.repeat(indent)}`);
  return level === 1 ? `(${joined})` : joined;
}
