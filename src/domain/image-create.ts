/**
 * The body rules of POST /v2/images, as Glance 25.1.0 applies them
 * (`RequestDeserializer.create`, then `ImageFactory.new_image` and the domain `Image`
 * setters), checked in the same order so that a body breaking several rules gets the same
 * answer as from Glance.
 *
 * Pure: no defaults are applied here (the service sets visibility 'shared', protected and
 * os_hidden false, min_ram/min_disk 0, tags [] and the owner), and policy (who may set
 * `owner`, who may publicize) is the service's business.
 */
import { Forbidden, Invalid } from './errors.js';
import type { Visibility } from './image.js';
import { imageSchema } from './image-schemas.js';
import type { FormatOptions } from './image-schemas.js';
import { checkDbIntegers, validateImage } from './image-validation.js';

/** What the caller asked for; a key is present only when the body had it. */
export interface CreateImageRequest {
  /** The caller-chosen image id (any case; Glance does not normalise it). */
  readonly id?: string;
  readonly name?: string | null;
  readonly visibility?: Visibility;
  readonly protected?: boolean;
  readonly os_hidden?: boolean;
  readonly disk_format?: string | null;
  readonly container_format?: string | null;
  readonly min_ram?: number;
  readonly min_disk?: number;
  /** Present (possibly null) only if the body named it; otherwise the service uses the caller's project. */
  readonly owner?: string | null;
  /** Duplicates collapsed, first occurrence order kept. */
  readonly tags?: readonly string[];
  /** Extra properties, in body order. */
  readonly properties: Readonly<Record<string, string>>;
}

export interface CreateOptions extends FormatOptions {
  /**
   * Called where Glance runs its create policy (owner, publicize/communitize, quotas): after
   * the body passed the deserializer's checks (type, read-only links, schema, key length,
   * reserved names) and before the image factory's (read-only base attributes, `locations`,
   * negative minimums). Throw to refuse. Optional; without it those policy checks simply
   * come after every rule here.
   */
  readonly authorize?: (request: CreateImageRequest) => void;
}

/** Glance's `_disallowed_properties`: refused before anything else is looked at. */
const DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'] as const;

/**
 * Glance's `_base_properties`: the keys that become Image attributes. Everything else in the
 * body is an extra property — including `os_hash_algo`/`os_hash_value`, which Glance
 * therefore stores as extra properties rather than refusing.
 */
const BASE = new Set([
  'checksum',
  'created_at',
  'container_format',
  'disk_format',
  'id',
  'min_disk',
  'min_ram',
  'name',
  'size',
  'virtual_size',
  'status',
  'tags',
  'owner',
  'updated_at',
  'visibility',
  'protected',
  'os_hidden',
]);

/** `ImageFactory._readonly_properties`, in its order (only base keys can reach it). */
const READONLY_AT_FACTORY = ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size'] as const;

/** The deserializer's `_reserved_properties`. */
const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
/** Glance's reserved namespace — a bare prefix, so `os_glancefoo` is reserved too. */
const RESERVED_PREFIX = 'os_glance';

const MAX_PROPERTY_KEY = 255;

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Validates a create-image body and splits it into core attributes, tags and extra
 * properties.
 *
 * @param body the parsed JSON body (undefined when the request had none).
 * @param opts the configured disk and container formats (the schema enums) and an
 *   optional policy hook.
 * @returns only what the body gave.
 * @throws Invalid (400) when there is no body, it is not a JSON object (Glance answers 500
 *   for an array; Iris answers 400 on purpose), it violates the image schema, an extra
 *   property key is longer than 255 characters, or min_disk/min_ram is negative.
 * @throws Forbidden (403) for `direct_url`, `self`, `file`, `schema`, `stores` and the
 *   read-only `created_at`, `updated_at`, `status`, `checksum`, `size`, `virtual_size`
 *   ("Attribute 'x' is read-only."), for `location`, `deleted`, `deleted_at` and `os_glance*`
 *   (reserved, Glance "detail" style) and for `locations` (reserved).
 * @throws whatever `opts.authorize` throws.
 */
export function parseCreateRequest(body: unknown, opts: CreateOptions): CreateImageRequest {
  if (body === undefined) throw new Invalid('Body expected in request.');
  if (Array.isArray(body)) throw new Invalid('Request body must be a JSON object.');
  if (typeof body !== 'object' || body === null) {
    // Glance's JSON deserializer accepts only lists and dicts.
    throw new Invalid('Unexpected body type. Expected list/dict.');
  }
  const doc = body as Record<string, unknown>;
  const has = (key: string): boolean => Object.hasOwn(doc, key);

  for (const key of DISALLOWED) {
    if (has(key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  }

  validateImage(doc, imageSchema(opts));

  // Extra properties are checked in body order, key length first (Glance LP #1737952).
  const extraKeys = Object.keys(doc).filter((k) => !BASE.has(k));
  for (const key of extraKeys) {
    if (codePointLength(key) > MAX_PROPERTY_KEY) {
      throw new Invalid(`Custom property should not be greater than ${MAX_PROPERTY_KEY} characters.`);
    }
    if (RESERVED.has(key) || key.startsWith(RESERVED_PREFIX)) {
      throw new Forbidden(`Attribute '${key}' is reserved.`, { check: 'create-reserved-attribute' });
    }
  }

  const properties: Record<string, string> = {};
  for (const key of extraKeys) {
    const value = doc[key];
    // Only kernel_id / ramdisk_id (and os_hash_*) may be null per the schema; Glance would
    // store a NULL property, which Iris's string-valued properties cannot hold, so it is
    // left out.
    if (typeof value === 'string') properties[key] = value;
  }

  const request: { -readonly [K in keyof CreateImageRequest]: CreateImageRequest[K] } = { properties };
  // The schema has already checked every type below; the guards only narrow for the compiler.
  if (has('id') && typeof doc.id === 'string') request.id = doc.id;
  if (has('name')) request.name = doc.name as string | null;
  if (has('visibility')) request.visibility = doc.visibility as Visibility;
  if (has('protected')) request.protected = doc.protected as boolean;
  if (has('os_hidden')) request.os_hidden = doc.os_hidden as boolean;
  if (has('disk_format')) request.disk_format = doc.disk_format as string | null;
  if (has('container_format')) request.container_format = doc.container_format as string | null;
  if (has('min_ram')) request.min_ram = doc.min_ram as number;
  if (has('min_disk')) request.min_disk = doc.min_disk as number;
  if (has('owner')) request.owner = doc.owner as string | null;
  if (has('tags')) request.tags = [...new Set(doc.tags as string[])];
  // Glance consults policy (owner, publicize, quotas) here, between its deserializer and
  // its image factory.
  opts.authorize?.(request);

  // ImageFactory.new_image: read-only base attributes, then reserved extra properties
  // (only `locations` can still be there), then the Image setters.
  for (const key of READONLY_AT_FACTORY) {
    if (has(key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  }
  if (extraKeys.includes('locations')) throw new Forbidden("Attribute 'locations' is reserved.");
  for (const key of ['min_disk', 'min_ram'] as const) {
    const value = doc[key];
    // Glance's setter tests `if value and value < 0`.
    if (typeof value === 'number' && value < 0) {
      throw new Invalid(`Invalid value '${value}' for parameter '${key}': Cannot be a negative value`);
    }
  }
  // Glance's database layer, when the new row is added.
  checkDbIntegers(request);

  return request;
}
