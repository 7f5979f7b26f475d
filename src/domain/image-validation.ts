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
import { compareCodePoints, pyLen, pyPformat, pyRepr } from './py-format.js';
import type { JsonObject } from './image-schemas.js';

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
  root: JsonObject = schema,
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
          fail(keyword, `${pyRepr(instance)} is not of type ${types.map((t) => pyRepr(t)).join(', ')}`);
        }
        break;
      }
      case 'enum':
        if (Array.isArray(value) && !inEnum(instance, value)) {
          fail(keyword, `${pyRepr(instance)} is not one of ${pyRepr(value)}`);
        }
        break;
      case 'maxLength':
        if (typeof instance === 'string' && typeof value === 'number' && pyLen(instance) > value) {
          fail(keyword, `${pyRepr(instance)} is too long`);
        }
        break;
      case 'minLength':
        if (typeof instance === 'string' && typeof value === 'number' && pyLen(instance) < value) {
          fail(keyword, `${pyRepr(instance)} is too short`);
        }
        break;
      case 'pattern':
        if (typeof instance === 'string' && typeof value === 'string' && !pySearch(value, instance)) {
          fail(keyword, `${pyRepr(instance)} does not match ${pyRepr(value)}`);
        }
        break;
      case 'items':
        // Array positions are part of the instance path but not of the schema path.
        if (Array.isArray(instance) && isSchemaObject(value)) {
          instance.forEach((item, index) => {
            errors.push(...collectErrors(item, value, [...path, index], [...schemaPath, keyword], root));
          });
        }
        break;
      case 'properties':
        if (isObject(instance) && isSchemaObject(value)) {
          for (const [name, sub] of Object.entries(value)) {
            if (Object.hasOwn(instance, name) && isSchemaObject(sub)) {
              errors.push(
                ...collectErrors(instance[name], sub, [...path, name], [...schemaPath, keyword, name], root),
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
            errors.push(...collectErrors(instance[extra], value, [...path, extra], [...schemaPath, keyword], root));
          }
        } else if (value === false && extras.length > 0) {
          const names = [...extras].sort(compareCodePoints).map((e) => pyRepr(e)).join(', ');
          fail(keyword, `Additional properties are not allowed (${names} ${extras.length === 1 ? 'was' : 'were'} unexpected)`);
        }
        break;
      }
      case 'required':
        if (isObject(instance) && Array.isArray(value)) {
          for (const name of value) {
            if (typeof name === 'string' && !Object.hasOwn(instance, name)) {
              fail(keyword, `${pyRepr(name)} is a required property`);
            }
          }
        }
        break;
      // The keywords below serve the metadefs schemas (domain/metadef-schemas.ts).
      case '$ref': {
        // jsonschema resolves local references and adds nothing to the schema path.
        const resolved = typeof value === 'string' ? resolvePointer(root, value) : undefined;
        if (resolved !== undefined) errors.push(...collectErrors(instance, resolved, path, schemaPath, root));
        break;
      }
      case 'allOf':
        if (Array.isArray(value)) {
          value.forEach((sub, index) => {
            if (isSchemaObject(sub)) errors.push(...collectErrors(instance, sub, path, [...schemaPath, keyword, index], root));
          });
        }
        break;
      case 'minimum':
        if (typeof instance === 'number' && typeof value === 'number' && instance < value) {
          fail(keyword, `${pyRepr(instance)} is less than the minimum of ${pyRepr(value)}`);
        }
        break;
      case 'minItems':
        if (Array.isArray(instance) && typeof value === 'number' && instance.length < value) fail(keyword, `${pyRepr(instance)} is too short`);
        break;
      case 'maxItems':
        if (Array.isArray(instance) && typeof value === 'number' && instance.length > value) fail(keyword, `${pyRepr(instance)} is too long`);
        break;
      case 'uniqueItems':
        if (Array.isArray(instance) && value === true && instance.some((a, i) => instance.slice(i + 1).some((b) => pyEquals(a, b)))) {
          fail(keyword, `${pyRepr(instance)} has non-unique elements`);
        }
        break;
      default:
        // Annotations only (description, readOnly, is_base, …).
        break;
    }
  }
  return errors;
}

/** A local JSON pointer (`#/definitions/x`) into the root schema. */
function resolvePointer(root: JsonObject, ref: string): JsonObject | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isObject(node)) return undefined;
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return isSchemaObject(node) ? node : undefined;
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
  return `${container}[${indices.map((i) => pyRepr(i)).join('][')}]`;
}

/** `str(ValidationError)` of jsonschema 4.10. */
function describeError(error: SchemaError): string {
  const indentRest = (text: string): string => text.split('\n').join('\n    ');
  return (
    `${error.message}\n\n` +
    `Failed validating ${pyRepr(error.keyword)} in ${formatAsIndex('schema', error.schemaPath.slice(0, -1))}:\n` +
    `    ${indentRest(pyPformat(error.schema))}\n\n` +
    `On ${formatAsIndex('instance', error.path)}:\n` +
    `    ${indentRest(pyPformat(error.instance))}`
  );
}
