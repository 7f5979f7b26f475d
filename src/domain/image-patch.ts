/**
 * PATCH /v2/images/{id}: parsing the JSON-patch body and applying it to an Image, following
 * Glance 25.1.0 (`RequestDeserializer.update` and `ImagesController.update` with its
 * `_do_add` / `_do_replace` / `_do_remove`).
 *
 * Two media types exist. `application/openstack-images-v2.1-json-patch` is RFC 6902 shaped
 * (`{"op": "replace", "path": "/name", "value": …}`; Glance calls it "draft 10");
 * `application/openstack-images-v2.0-json-patch` is the older "draft 4" shape with the
 * operation as the key (`{"replace": "/name", "value": …}`), and there `add` refuses to
 * overwrite an existing attribute or property.
 *
 * Only add, replace and remove exist (move/copy/test are refused), paths are one segment
 * (`/name`, `/tags` — the tag list is replaced whole) except `/locations/N` and
 * `/locations/-`. With show_multiple_locations off (`PatchOptions.locations` absent) every
 * location operation ends in 403, as in Glance; with it on, image-locations.ts applies them.
 */
import { Conflict, Forbidden, Invalid, NotFound } from './errors.js';
import type { Image } from './image.js';
import { imageSchema } from './image-schemas.js';
import type { FormatOptions, JsonObject } from './image-schemas.js';
import { checkDbIntegers, validateImage } from './image-validation.js';
import { applyLocationOp, type LocationPatchOptions } from './image-locations.js';
import { pyStr } from './py-format.js';

/**
 * The JSON-patch dialect, as Glance numbers it by its JSON-schema draft: 10 for the v2.1
 * media type (RFC 6902 shaped), 4 for v2.0 (the operation as the key). The HTTP layer picks
 * it from the Content-Type (src/http/patch-media-type.ts).
 */
export type PatchDialect = 4 | 10;

/** A decoded JSON pointer: never empty (`/` decodes to `['']`). */
export type PatchPath = readonly [string, ...string[]];

/** One normalised operation. `path` is the decoded JSON pointer, e.g. `['locations', '-']`. */
export type PatchOp =
  | {
      readonly op: 'add' | 'replace';
      readonly path: PatchPath;
      readonly value: unknown;
      /** 4 for the v2.0 media type, 10 for v2.1 (changes what `add` does). */
      readonly jsonSchemaVersion: PatchDialect;
    }
  | {
      readonly op: 'remove';
      readonly path: PatchPath;
      readonly jsonSchemaVersion: PatchDialect;
    };

/** A policy decision Glance makes in the middle of applying an operation. */
export type PatchAuthorization =
  /** `update_property(name, value)`: modify_image, plus the visibility rules for `visibility`. */
  | { readonly kind: 'property'; readonly name: string; readonly value?: unknown }
  /** `update_locations()`: set_image_location. */
  | { readonly kind: 'set_locations' }
  /** `delete_locations()`: delete_image_location and the owner-or-admin check. */
  | { readonly kind: 'delete_locations' };

export interface PatchOptions extends FormatOptions {
  /** Only admins may `replace` the owner. */
  readonly isAdmin: boolean;
  /**
   * Called where Glance consults policy, i.e. once per operation in order, before the
   * operation's own checks; throw (e.g. Forbidden) to refuse. Optional: a caller may
   * instead check the returned `changed` set afterwards, at the cost of reporting a policy
   * refusal ahead of an earlier operation's Conflict.
   */
  readonly authorize?: (check: PatchAuthorization) => void;
  /**
   * Property protections (Glance's ExtraPropertiesProxy): whether the caller may create,
   * update or delete the extra property `name`; a refusal is 403 "Attribute '…' is reserved.".
   * The image given must then hold only the properties the caller may read, so that an
   * unreadable one looks absent (replace/remove: 409; add: a create), as in Glance.
   */
  readonly protectProperty?: (name: string, op: 'create' | 'update' | 'delete') => boolean;
  /** show_multiple_locations on: how location operations are checked; absent = all refused. */
  readonly locations?: LocationPatchOptions;
}

export interface PatchResult {
  /** A new Image; the input is untouched. `updated_at` is left for the service to set. */
  readonly image: Image;
  /**
   * The attribute / property names the operations targeted, whether or not the value
   * differs (Glance enforces e.g. the publicize policy for any visibility operation).
   */
  readonly changed: ReadonlySet<string>;
}

const SUPPORTED_OPERATIONS = ['add', 'remove', 'replace'] as const;
type Operation = (typeof SUPPORTED_OPERATIONS)[number];

/** The deserializer's `_readonly_properties`. */
const READONLY = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'id',
  'os_hash_algo',
  'os_hash_value',
]);
const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
/** A bare prefix in Glance: `os_glancefoo` is reserved too. */
const RESERVED_PREFIX = 'os_glance';

/** `_path_depth_limits`: every other path has exactly one segment. */
const PATH_DEPTH: Readonly<Record<string, Readonly<Record<Operation, number>>>> = {
  locations: { add: 2, remove: 2, replace: 1 },
};

/**
 * The names for which Glance's `hasattr(image, name)` is true once read-only ones are
 * excluded: these are attributes, so `remove` refuses them and `add` in v2.0 finds them
 * "already present". `member`, `image_id` and `extra_properties` are Glance internals that
 * leak through that test.
 */
const ATTRIBUTES = new Set([
  'name',
  'visibility',
  'protected',
  'os_hidden',
  'owner',
  'min_ram',
  'min_disk',
  'disk_format',
  'container_format',
  'tags',
  'locations',
  'member',
  'image_id',
  'extra_properties',
]);

/** Python's whitespace (str.isspace / `\s`), for Glance's `strip()` and pointer regexes. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const ADJACENT_SLASHES = new RegExp(`/[${PY_SPACE}]*?/`, 'u');
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

function pyStrip(s: string): string {
  return s.replace(EDGE_SPACE, '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The ` is reserved` / ` is read-only` refusals of `_validate_change`. */
function checkWritable(root: string): void {
  if (READONLY.has(root)) throw new Forbidden(`Attribute '${root}' is read-only.`);
  if (RESERVED.has(root) || root.startsWith(RESERVED_PREFIX)) {
    throw new Forbidden(`Attribute '${root}' is reserved.`);
  }
}

/**
 * `_validate_change`'s schema check: the value is validated as a one-property image
 * (`{name: value}`), or, for `/locations/N`, as a one-element list.
 */
function validateValue(op: PatchOp, schema: JsonObject): void {
  if (op.op === 'remove') return;
  const root = op.path[0];
  const partial = op.path.length === 1 ? { [root]: op.value } : { [root]: [op.value] };
  validateImage(partial, schema);
}

// ----------------------------------------------------------------- parsing --

/**
 * Parses a PATCH body into normalised operations, checking each operation in turn as
 * Glance's deserializer does.
 *
 * @param dialect the JSON-patch dialect the request's media type names.
 * @param body the parsed JSON body (undefined when the request had none).
 * @param formats when given, each value is also validated against the image schema here,
 *   in operation order, as Glance does; `applyPatch` validates in any case.
 * @throws Invalid (400) for a missing body, a body that is not an array of objects, an
 *   unknown or missing op (move/copy/test included), a missing or malformed path, a path of
 *   the wrong depth, a missing `value`, or a value violating the image schema.
 * @throws Forbidden (403) for a read-only (`status`, `id`, `checksum`, …) or reserved
 *   (`location`, `deleted`, `deleted_at`, `os_glance*`) path, whatever the op.
 */
export function parsePatch(dialect: PatchDialect, body: unknown, formats?: FormatOptions): PatchOp[] {
  if (body === undefined) throw new Invalid('Body expected in request.');
  if (!Array.isArray(body)) {
    if (isPlainObject(body)) throw new Invalid('Request body must be a JSON array of operation objects.');
    throw new Invalid('Unexpected body type. Expected list/dict.');
  }
  const schema = formats === undefined ? undefined : imageSchema(formats);
  return body.map((rawChange: unknown) => {
    if (!isPlainObject(rawChange)) throw new Invalid('Operations must be JSON objects.');
    const { op, pointer } = dialect === 10 ? readDraft10(rawChange) : readDraft4(rawChange);
    const path = decodePointer(pointer);
    const limit = PATH_DEPTH[path[0]]?.[op] ?? 1;
    if (path.length !== limit) {
      throw new Invalid(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    }
    let change: PatchOp;
    if (op === 'remove') {
      change = { op, path, jsonSchemaVersion: dialect };
    } else {
      if (!Object.hasOwn(rawChange, 'value')) {
        throw new Invalid(`Operation "${op}" requires a member named "value".`);
      }
      change = { op, path, value: rawChange.value, jsonSchemaVersion: dialect };
    }
    checkWritable(path[0]);
    if (schema !== undefined) validateValue(change, schema);
    return change;
  });
}

function requirePointer(pointer: unknown): string {
  // Glance answers 500 here (it calls str methods on whatever it got).
  if (typeof pointer !== 'string') throw new Invalid(`Pointer \`${pyStr(pointer)}\` is not a string.`);
  return pointer;
}

/** v2.1: `{"op": …, "path": …}`. */
function readDraft10(change: Record<string, unknown>): { op: Operation; pointer: string } {
  const op = change.op;
  const available = SUPPORTED_OPERATIONS.join(', ');
  if (op === undefined || op === null) {
    throw new Invalid(`Unable to find \`op\` in JSON Schema change. It must be one of the following: ${available}.`);
  }
  if (!SUPPORTED_OPERATIONS.includes(op as Operation)) {
    throw new Invalid(`Invalid operation: \`${pyStr(op)}\`. It must be one of the following: ${available}.`);
  }
  if (!Object.hasOwn(change, 'path')) throw new Invalid("Unable to find 'path' in JSON Schema change");
  return { op: op as Operation, pointer: requirePointer(change.path) };
}

/** v2.0: the operation name is the key holding the path. */
function readDraft4(change: Record<string, unknown>): { op: Operation; pointer: string } {
  const [op, ...others] = SUPPORTED_OPERATIONS.filter((key) => Object.hasOwn(change, key));
  if (others.length > 0) {
    throw new Invalid('Operation objects must contain only one member named "add", "remove", or "replace".');
  }
  if (op === undefined) {
    throw new Invalid('Operation objects must contain exactly one member named "add", "remove", or "replace".');
  }
  return { op, pointer: requirePointer(change[op]) };
}

/**
 * Glance's `_validate_json_pointer` + `_decode_json_pointer`. Note the leniencies kept on
 * purpose: all leading slashes are dropped (`//name` is `name`) and every segment is
 * whitespace-stripped (`/ name ` is `name`, `/` is the empty name).
 */
function decodePointer(pointer: string): [string, ...string[]] {
  if (!pointer.startsWith('/')) throw new Invalid(`Pointer \`${pointer}\` does not start with "/".`);
  if (ADJACENT_SLASHES.test(pointer.slice(1))) {
    throw new Invalid(`Pointer \`${pointer}\` contains adjacent "/".`);
  }
  if (pointer.length > 1 && pointer.endsWith('/')) throw new Invalid(`Pointer \`${pointer}\` end with "/".`);
  if (pyStrip(pointer.slice(1)) === '/') {
    throw new Invalid(`Pointer \`${pointer}\` does not contains valid token.`);
  }
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) {
    throw new Invalid(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  }
  // split always yields at least one part, so the default never applies.
  const [first = '', ...rest] = pointer
    .replace(/^\/+/, '')
    .split('/')
    .map((part) => pyStrip(part.replaceAll('~1', '/').replaceAll('~0', '~')));
  return [first, ...rest];
}

// ----------------------------------------------------------------- applying --

/**
 * Applies parsed operations to an image, all or nothing.
 *
 * Every value is first validated against the image schema (as the deserializer does), then
 * the operations run in order with Glance's semantics: `replace` and `remove` of an absent
 * extra property conflict; `add` sets (v2.1) or refuses an existing name (v2.0); core
 * attributes cannot be removed; disk/container format change only while queued or
 * importing; min_ram/min_disk cannot go negative; only admins replace the owner; tags are
 * replaced whole with duplicates collapsed; location operations are refused.
 *
 * @returns the new image and the names the operations targeted.
 * @throws Invalid (400) schema violation, negative min_ram/min_disk.
 * @throws Forbidden (403) read-only/reserved name; removing a core attribute ("detail"
 *   style); owner replaced by a non-admin ("detail"); format change after upload; any
 *   location operation (an empty location list is refused first, "detail").
 * @throws Conflict (409, "detail" style) replace/remove of a missing property; v2.0 `add`
 *   of something already present.
 * @throws NotFound (404) `image_id` set to another id (Glance then looks for that image).
 * @throws whatever `opts.authorize` throws.
 */
export function applyPatch(image: Image, ops: readonly PatchOp[], opts: PatchOptions): PatchResult {
  const schema = imageSchema(opts);
  for (const op of ops) {
    const limit = PATH_DEPTH[op.path[0]]?.[op.op] ?? 1;
    if (op.path.length !== limit) {
      throw new Invalid(`Invalid JSON pointer for this resource: '/${op.path.join('/')}'`);
    }
    checkWritable(op.path[0]);
    validateValue(op, schema);
  }

  let next: Image = {
    ...image,
    tags: [...image.tags],
    properties: { ...image.properties },
    locations: [...image.locations],
  };
  const changed = new Set<string>();
  const authorize = opts.authorize ?? ((): void => undefined);

  for (const op of ops) {
    const name = op.path[0];
    if (name === 'locations') {
      if (opts.locations === undefined) refuseLocations(op, authorize);
      authorizeLocations(op, authorize);
      next = applyLocationOp(next, op, opts.locations);
      changed.add(name);
      continue;
    }
    if (op.op === 'replace' && name === 'owner' && !opts.isAdmin) {
      throw new Forbidden("Owner can't be updated by non admin.", { check: 'patch-owner-by-non-admin' });
    }
    authorize(op.op === 'remove' ? { kind: 'property', name } : { kind: 'property', name, value: op.value });
    changed.add(name);

    const isAttribute = ATTRIBUTES.has(name);
    const isProperty = Object.hasOwn(next.properties, name);
    const protect = (action: 'create' | 'update' | 'delete'): void => {
      if (opts.protectProperty !== undefined && !opts.protectProperty(name, action)) {
        throw new Forbidden(`Attribute '${name}' is reserved.`);
      }
    };
    switch (op.op) {
      case 'replace':
        if (isAttribute) setAttribute(next, name, op.value);
        else if (isProperty) {
          protect('update');
          setProperty(next, name, op.value);
        } else throw new Conflict(`Property ${name} does not exist.`, { check: 'patch-missing-property' });
        break;
      case 'add':
        if (op.jsonSchemaVersion === 4 && (isAttribute || isProperty)) {
          throw new Conflict(`Property ${name} already present.`, { check: 'patch-existing-property' });
        }
        if (isAttribute) setAttribute(next, name, op.value);
        else {
          protect(isProperty ? 'update' : 'create');
          setProperty(next, name, op.value);
        }
        break;
      case 'remove':
        if (isAttribute) throw new Forbidden(`Property ${name} may not be removed.`, { check: 'patch-core-attribute-removal' });
        if (!isProperty) throw new Conflict(`Property ${name} does not exist.`, { check: 'patch-missing-property' });
        protect('delete');
        delete next.properties[name];
        break;
    }
  }
  // Glance's database layer, when the patched image is saved.
  checkDbIntegers(next);
  return { image: next, changed };
}

/** Glance's policy checks before a location operation (an empty replacement is refused first). */
function authorizeLocations(op: PatchOp, authorize: (check: PatchAuthorization) => void): void {
  if (op.op === 'replace' && Array.isArray(op.value) && op.value.length === 0) {
    throw new Forbidden('Cannot set locations to empty list.', { check: 'patch-empty-locations' });
  }
  authorize({ kind: op.op === 'remove' ? 'delete_locations' : 'set_locations' });
}

/** With show_multiple_locations off Glance refuses every location change, after policy. */
function refuseLocations(op: PatchOp, authorize: (check: PatchAuthorization) => void): never {
  switch (op.op) {
    case 'replace':
      // Checked before policy and before the "invisible" refusal.
      if (Array.isArray(op.value) && op.value.length === 0) {
        throw new Forbidden('Cannot set locations to empty list.', { check: 'patch-empty-locations' });
      }
      authorize({ kind: 'set_locations' });
      throw new Forbidden("It's not allowed to update locations if locations are invisible.");
    case 'add':
      authorize({ kind: 'set_locations' });
      throw new Forbidden("It's not allowed to add locations if locations are invisible.");
    case 'remove':
      authorize({ kind: 'delete_locations' });
      throw new Forbidden("It's not allowed to remove locations if locations are invisible.");
  }
}

/** An extra property; a null (allowed by the schema for kernel_id / ramdisk_id) unsets it. */
function setProperty(image: Image, name: string, value: unknown): void {
  // Glance would store a NULL property; Iris's properties are strings only.
  if (value === null) delete image.properties[name];
  else image.properties[name] = value as string;
}

/**
 * Glance's attribute setters. Values have passed the schema, so the types are known;
 * the casts only inform the compiler.
 */
function setAttribute(image: Image, name: string, value: unknown): void {
  switch (name) {
    case 'name':
      image.name = value as string | null;
      return;
    case 'visibility':
      image.visibility = value as Image['visibility'];
      return;
    case 'protected':
      image.protected = value as boolean;
      return;
    case 'os_hidden':
      image.os_hidden = value as boolean;
      return;
    case 'owner':
      image.owner = value as string | null;
      return;
    case 'min_ram':
    case 'min_disk':
      // Glance's setter: `if value and value < 0`.
      if (typeof value === 'number' && value < 0) {
        throw new Invalid(`Invalid value '${value}' for parameter '${name}': Cannot be a negative value`);
      }
      image[name] = value as number;
      return;
    case 'disk_format':
    case 'container_format':
      // Refused once data is there, even when the value is unchanged.
      if (image.status !== 'queued' && image.status !== 'importing') {
        throw new Forbidden(`Attribute ${name} can be only replaced for a queued image.`);
      }
      image[name] = value as string | null;
      return;
    case 'tags':
      image.tags = [...new Set(value as string[])];
      return;
    case 'member':
      // Glance sets a transient attribute that is never saved: a successful no-op.
      return;
    case 'image_id':
      // Glance saves under the new id and fails to find it.
      if (value !== image.id) throw new NotFound(`No image found with ID ${pyStr(value)}`);
      return;
    default:
      // extra_properties: Glance fails with a 500 assigning a string to its property map.
      throw new Invalid(`Attribute ${name} cannot be set.`);
  }
}
