/**
 * JSON-schema validation of image documents, the way Glance does it.
 *
 * Glance calls `jsonschema.validate(obj, schema)` (python3-jsonschema 4.10, which picks the
 * Draft 2020-12 rules because the schemas carry no `$schema`) and reports the single "best
 * match" error as `Provided object does not match schema 'image': <str(error)>`. Clients and
 * our comparison tests see that text, so this module reproduces it: the same keyword
 * semantics, the same choice among several errors, and the same message, which embeds Python
 * `repr()`s and a `pprint.pformat(width=72)` of the failing sub-schema and instance.
 *
 * Only the keywords Glance's image, member and task schemas use are implemented: type,
 * enum, maxLength, minLength, pattern, items, properties, additionalProperties, required.
 * Annotations (description, readOnly, writeOnly, is_base, name, links) are ignored, as in
 * jsonschema.
 */
import { Invalid } from './errors.js';
import type { IrisError } from './errors.js';
import type { JsonObject } from './image-schemas.js';

// ------------------------------------------------------------ Glance fault styles --

/** An error whose message Glance shows as webob's "detail" (see `asGlanceDetail`). */
export type GlanceDetailError<E extends IrisError = IrisError> = E & { readonly glanceDetail: true };

/**
 * Marks an error that Glance raises as `HTTPxxx(msg)` rather than `HTTPxxx(explanation=msg)`.
 * webob then prints the status's stock explanation first and the message after it
 * (`403 Forbidden\n\nAccess was denied to this resource.\n\n Attribute 'deleted' is
 * reserved.  `), so the fault layer needs the flag to reproduce Glance's body exactly.
 * Unmarked errors are "explanation" style (`403 Forbidden\n\n<message>\n\n   `).
 *
 * @returns the same error object, flagged.
 */
export function asGlanceDetail<E extends IrisError>(error: E): GlanceDetailError<E> {
  Object.defineProperty(error, 'glanceDetail', { value: true, enumerable: false });
  return error as GlanceDetailError<E>;
}

/** True when `asGlanceDetail` flagged the error. */
export function isGlanceDetail(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { glanceDetail?: unknown }).glanceDetail === true;
}

// ------------------------------------------------------------------ public API --

/**
 * Validates an image document (core attributes plus extra properties, keyed as on the wire)
 * against the image schema, as Glance does for a create body or for the one-property
 * "partial image" built from a PATCH operation.
 *
 * @param doc the document; anything JSON-shaped.
 * @param schema the image schema (from `imageSchema()`).
 * @throws Invalid with Glance's text,
 *   `Provided object does not match schema 'image': <reason>\n\nFailed validating …`,
 *   when the document violates the schema.
 */
export function validateImage(doc: unknown, schema: JsonObject): void {
  validateAgainstSchema(doc, schema);
}

/**
 * Validates any value against one of the Glance schema documents.
 *
 * @throws Invalid `Provided object does not match schema '<schema.name>': <reason>` on the
 *   first (best-matching) violation.
 */
export function validateAgainstSchema(instance: unknown, schema: JsonObject): void {
  const error = bestMatch(collectErrors(instance, schema));
  if (error === undefined) return;
  const name = typeof schema.name === 'string' ? schema.name : '';
  throw new Invalid(`Provided object does not match schema '${name}': ${describeError(error)}`);
}

/**
 * Python's `repr()` of a JSON value (None/True/False, quoted strings, `{'k': v}` dicts in
 * insertion order). Exposed because several Glance messages embed `%r`/`%s` of user input.
 */
export function pyRepr(value: unknown): string {
  return repr(value, false);
}

/**
 * Python's `str()` of a JSON value: strings are themselves, everything else is its repr.
 * Glance formats user input with `%s` in several messages.
 */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : repr(value, false);
}

/** Python's `pprint.pformat(value, width=72)` for JSON values (dict keys sorted). */
export function pyPformat(value: unknown): string {
  return pformat(value, 0, 0, 0);
}

/** The largest value Glance's database layer accepts for min_disk and min_ram (a 4-byte INT). */
export const MAX_DB_INT = 2 ** 31 - 1;

/**
 * Glance's database-level range check for min_disk and min_ram, run on the finished image
 * (after a create's or a patch's own checks), min_disk first. Without it a value beyond
 * 2^53 would be rounded and one beyond 2^63 would not fit the column.
 *
 * @throws Invalid `'min_disk' value out of range, must not exceed 2147483647.`
 */
export function checkDbIntegers(values: { readonly min_disk?: number; readonly min_ram?: number }): void {
  for (const key of ['min_disk', 'min_ram'] as const) {
    const value = values[key];
    if (value !== undefined && value > MAX_DB_INT) {
      throw new Invalid(`'${key}' value out of range, must not exceed ${MAX_DB_INT}.`);
    }
  }
}

// ------------------------------------------------------------ the validator --

type PathItem = string | number;

interface SchemaError {
  readonly message: string;
  /** The keyword that failed ('enum', 'type', …). */
  readonly keyword: string;
  /** Where in the instance (jsonschema's `relative_path`). */
  readonly path: readonly PathItem[];
  /** Where in the schema, ending with the keyword (jsonschema's `relative_schema_path`). */
  readonly schemaPath: readonly PathItem[];
  /** The (sub)schema holding the keyword. */
  readonly schema: JsonObject;
  /** The (sub)instance that failed. */
  readonly instance: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchemaObject(value: unknown): value is JsonObject {
  return isObject(value);
}

/** jsonschema's Draft 2020-12 type checker (bool is not a number; 1.0 is an integer). */
function isType(instance: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return instance === null;
    case 'boolean':
      return typeof instance === 'boolean';
    case 'string':
      return typeof instance === 'string';
    case 'integer':
      return typeof instance === 'number' && Number.isInteger(instance);
    case 'number':
      return typeof instance === 'number';
    case 'array':
      return Array.isArray(instance);
    case 'object':
      return isObject(instance);
    default:
      return false;
  }
}

function typeList(type: unknown): readonly string[] {
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return [];
}

/** Length as Python counts it (code points, not UTF-16 units). */
function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python's `==` between JSON values (True == 1, 1 == 1.0, deep for lists and dicts). */
function pyEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : undefined;
  const na = num(a);
  const nb = num(b);
  if (na !== undefined || nb !== undefined) return na === nb;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => pyEquals(item, b[i]))
    );
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]))
    );
  }
  return a === b;
}

/**
 * jsonschema's `enum`: for 0/1/True/False it compares with booleans kept apart from
 * integers ("unbool"); otherwise plain Python `in`.
 */
function inEnum(instance: unknown, values: readonly unknown[]): boolean {
  if (instance === 0 || instance === 1 || typeof instance === 'boolean') {
    return values.some((v) =>
      typeof instance === 'boolean' || typeof v === 'boolean' ? v === instance : pyEquals(v, instance),
    );
  }
  return values.some((v) => pyEquals(v, instance));
}

/**
 * Python `re.search` for the simple patterns in Glance's schemas. The one semantic
 * difference that matters is `$`, which in Python also matches before a final newline.
 */
function pySearch(pattern: string, s: string): boolean {
  const translated = pattern.endsWith('$') && !pattern.endsWith('\\$')
    ? `${pattern.slice(0, -1)}(?=\\n?$)`
    : pattern;
  return new RegExp(translated, 'u').test(s);
}

/**
 * Every violation, in the order jsonschema yields them: schema keywords in the schema's own
 * key order, `properties` in the schema's property order.
 */
function collectErrors(
  instance: unknown,
  schema: JsonObject,
  path: readonly PathItem[] = [],
  schemaPath: readonly PathItem[] = [],
): SchemaError[] {
  const errors: SchemaError[] = [];
  const fail = (keyword: string, message: string): void => {
    errors.push({ message, keyword, path, schemaPath: [...schemaPath, keyword], schema, instance });
  };
  for (const [keyword, value] of Object.entries(schema)) {
    switch (keyword) {
      case 'type': {
        const types = typeList(value);
        if (!types.some((t) => isType(instance, t))) {
          fail(keyword, `${repr(instance, false)} is not of type ${types.map((t) => repr(t, false)).join(', ')}`);
        }
        break;
      }
      case 'enum':
        if (Array.isArray(value) && !inEnum(instance, value)) {
          fail(keyword, `${repr(instance, false)} is not one of ${repr(value, false)}`);
        }
        break;
      case 'maxLength':
        if (typeof instance === 'string' && typeof value === 'number' && pyLen(instance) > value) {
          fail(keyword, `${repr(instance, false)} is too long`);
        }
        break;
      case 'minLength':
        if (typeof instance === 'string' && typeof value === 'number' && pyLen(instance) < value) {
          fail(keyword, `${repr(instance, false)} is too short`);
        }
        break;
      case 'pattern':
        if (typeof instance === 'string' && typeof value === 'string' && !pySearch(value, instance)) {
          fail(keyword, `${repr(instance, false)} does not match ${repr(value, false)}`);
        }
        break;
      case 'items':
        // Array positions are part of the instance path but not of the schema path.
        if (Array.isArray(instance) && isSchemaObject(value)) {
          instance.forEach((item, index) => {
            errors.push(...collectErrors(item, value, [...path, index], [...schemaPath, keyword]));
          });
        }
        break;
      case 'properties':
        if (isObject(instance) && isSchemaObject(value)) {
          for (const [name, sub] of Object.entries(value)) {
            if (Object.hasOwn(instance, name) && isSchemaObject(sub)) {
              errors.push(
                ...collectErrors(instance[name], sub, [...path, name], [...schemaPath, keyword, name]),
              );
            }
          }
        }
        break;
      case 'additionalProperties': {
        if (!isObject(instance)) break;
        const declared = isSchemaObject(schema.properties) ? schema.properties : {};
        const extras = Object.keys(instance).filter((k) => !Object.hasOwn(declared, k));
        if (isSchemaObject(value)) {
          // jsonschema walks a Python set here, so Glance's order among several bad extras
          // is arbitrary; instance order is as good and is deterministic.
          for (const extra of extras) {
            errors.push(...collectErrors(instance[extra], value, [...path, extra], [...schemaPath, keyword]));
          }
        } else if (value === false && extras.length > 0) {
          const names = [...extras].sort(compareCodePoints).map((e) => repr(e, false)).join(', ');
          fail(keyword, `Additional properties are not allowed (${names} ${extras.length === 1 ? 'was' : 'were'} unexpected)`);
        }
        break;
      }
      case 'required':
        if (isObject(instance) && Array.isArray(value)) {
          for (const name of value) {
            if (typeof name === 'string' && !Object.hasOwn(instance, name)) {
              fail(keyword, `${repr(name, false)} is a required property`);
            }
          }
        }
        break;
      default:
        // Annotations only (description, readOnly, is_base, …).
        break;
    }
  }
  return errors;
}

/**
 * jsonschema's `best_match`: the error highest up in the instance wins; at equal depth one
 * whose instance does not even have the expected type wins; remaining ties go to the first
 * yielded (Python's `max` keeps the first maximum).
 */
function bestMatch(errors: readonly SchemaError[]): SchemaError | undefined {
  let best: SchemaError | undefined;
  let bestKey: MatchKey = [0, 0];
  for (const error of errors) {
    const key: MatchKey = [-error.path.length, matchesType(error) ? 0 : 1];
    if (best === undefined || compareKeys(key, bestKey) > 0) {
      best = error;
      bestKey = key;
    }
  }
  return best;
}

function matchesType(error: SchemaError): boolean {
  if (!Object.hasOwn(error.schema, 'type')) return false;
  return typeList(error.schema.type).some((t) => isType(error.instance, t));
}

/** `bestMatch`'s sort key: (-path depth, 0 if the instance has the expected type else 1). */
type MatchKey = readonly [number, number];

function compareKeys(a: MatchKey, b: MatchKey): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** jsonschema's `format_as_index`: `schema['properties']['tags']['items']`. */
function formatAsIndex(container: string, indices: readonly PathItem[]): string {
  if (indices.length === 0) return container;
  return `${container}[${indices.map((i) => repr(i, false)).join('][')}]`;
}

/** `str(ValidationError)` of jsonschema 4.10. */
function describeError(error: SchemaError): string {
  const indentRest = (text: string): string => text.split('\n').join('\n    ');
  return (
    `${error.message}\n\n` +
    `Failed validating ${repr(error.keyword, false)} in ${formatAsIndex('schema', error.schemaPath.slice(0, -1))}:\n` +
    `    ${indentRest(pformat(error.schema, 0, 0, 0))}\n\n` +
    `On ${formatAsIndex('instance', error.path)}:\n` +
    `    ${indentRest(pformat(error.instance, 0, 0, 0))}`
  );
}

// ------------------------------------------------------------ Python repr --

/** Characters Python's `str.isspace()` (and `\s` in `re`) accept. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function compareCodePoints(a: string, b: string): number {
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
    const entries = sortDicts ? sortedEntries(value) : Object.entries(value);
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
