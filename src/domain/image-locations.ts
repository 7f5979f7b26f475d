/**
 * JSON-patch on `/locations` with show_multiple_locations on, following Glance 25.1.0
 * (`ImagesController._do_add_locations` / `_do_replace_locations` / `_do_remove_locations`,
 * `_validate_validation_data`, glance/location.py's StoreLocations and the location quota).
 *
 * What needs I/O (is the URL one a configured store serves, and how large is it) was asked
 * before the patch is applied: `probe` answers from those results, so this stays pure.
 */
import { Conflict, Forbidden, Invalid } from './errors.js';
import { transition, type Image, type ImageLocation } from './image.js';
import type { PatchOp } from './image-patch.js';
import { pyRepr } from './py-format.js';

/** What asking the stores about a location URL found. */
export type LocationProbe =
  /** A store serves it: its size, and the store id recorded in metadata (multi-store). */
  | { readonly ok: true; readonly size: number; readonly store?: string }
  /** No configured store serves it, it is restricted (file, swift+config), filtered, or empty. */
  | { readonly ok: false };

export interface LocationPatchOptions {
  /** [DEFAULT] hashing_algorithm: the only os_hash_algo validation_data may name. */
  readonly hashingAlgorithm: string;
  /** Digest length in bytes of `hashingAlgorithm` (64 for sha512). */
  readonly hashDigestBytes: number;
  /** image_location_quota for an image about to have `attempted` locations; throws TooLarge. */
  readonly checkQuota: (attempted: number) => void;
  /** The probe result of `url`, asked before applying (see `locationUrlsOf`). */
  readonly probe: (url: string) => LocationProbe;
}

const VALIDATION_KEYS = ['checksum', 'os_hash_algo', 'os_hash_value'] as const;
type ValidationKey = (typeof VALIDATION_KEYS)[number];
type ValidationData = Partial<Record<ValidationKey, string>>;

/** A location as the request gave it (the schema has checked its shape). */
interface RequestedLocation {
  readonly url: string;
  readonly metadata: Record<string, unknown>;
  readonly validation_data?: Record<string, string>;
}

/** The URLs a patch would have the stores check, in order, without duplicates. */
export function locationUrlsOf(ops: readonly PatchOp[]): string[] {
  const urls = new Set<string>();
  for (const op of ops) {
    if (op.path[0] !== 'locations' || op.op === 'remove') continue;
    const values = op.op === 'replace' ? (Array.isArray(op.value) ? op.value : []) : [op.value];
    for (const v of values as RequestedLocation[]) if (typeof v?.url === 'string') urls.add(v.url);
  }
  return [...urls];
}

/**
 * Applies one `/locations` operation to `image` (already a copy the caller owns).
 *
 * @returns the image with its new locations; a queued image that gains a location becomes
 *   active with the size the store reported and the validation_data values.
 * @throws Conflict (409) wrong status; validation_data conflicting, malformed or not for a queued image.
 * @throws Invalid (400) a bad position; a location no store serves ("Invalid location");
 *   a duplicate; replacing a non-empty list by other URLs.
 * @throws Forbidden (403, detail style) removing the last location; replacing by an empty list.
 * @throws TooLarge (413) over image_location_quota.
 */
export function applyLocationOp(image: Image, op: PatchOp, opts: LocationPatchOptions): Image {
  switch (op.op) {
    case 'add':
      return addLocation(image, op.path[1]!, op.value as RequestedLocation, opts);
    case 'remove':
      return removeLocation(image, op.path[1]!);
    case 'replace':
      return replaceLocations(image, op.value as RequestedLocation[], opts);
  }
}

function refuseStatus(image: Image, verb: string, allowed: readonly string[]): void {
  if (!allowed.includes(image.status)) {
    throw new Conflict(`It's not allowed to ${verb} locations if image status is ${image.status}.`);
  }
}

/** Glance's `_get_locations_op_pos`: `-` or digits; an add may go past the end (Python's insert). */
function position(segment: string, length: number, forAdd: boolean): number | null {
  let pos = forAdd ? length : length - 1;
  if (/^[0-9]+$/.test(segment)) pos = Number(segment);
  else if (segment !== '-') return null;
  if (!forAdd && !(pos >= 0 && pos < length)) return null;
  return pos;
}

function addLocation(image: Image, segment: string, value: RequestedLocation, opts: LocationPatchOptions): Image {
  refuseStatus(image, 'add', ['active', 'queued']);
  const validation = checkValidationData(image, [value], opts);
  const pos = position(segment, image.locations.length, true);
  if (pos === null) throw new Invalid('Invalid position for adding a location.');
  opts.checkQuota(image.locations.length + 1);
  const location = checkedLocation(value, opts);
  if (image.locations.some((l) => sameLocation(l, location))) {
    throw new Invalid(`The location ${value.url} already exists`);
  }
  const locations = [...image.locations];
  locations.splice(pos, 0, location);
  return activate({ ...image, locations }, [value], validation, opts);
}

function removeLocation(image: Image, segment: string): Image {
  refuseStatus(image, 'remove', ['active']);
  if (image.locations.length === 1) {
    throw new Forbidden('Cannot remove last location in the image.', { check: 'patch-last-location' });
  }
  const pos = position(segment, image.locations.length, false);
  if (pos === null) throw new Invalid('Invalid position for removing a location.');
  return { ...image, locations: image.locations.filter((_, i) => i !== pos) };
}

function replaceLocations(image: Image, value: RequestedLocation[], opts: LocationPatchOptions): Image {
  refuseStatus(image, 'replace', ['active', 'queued']);
  const validation = checkValidationData(image, value, opts);
  opts.checkQuota(value.length);
  const urls = value.map((l) => l.url).sort();
  const current = image.locations.map((l) => l.url).sort();
  const sameUrls = urls.length === current.length && urls.every((u, i) => u === current[i]);
  if (image.locations.length > 0 && !sameUrls) {
    // Glance prints its location dicts, database ids included; Iris's locations have none.
    const shown = image.locations.map((l) => ({ url: l.url, metadata: l.metadata, status: l.status }));
    throw new Invalid(`Original locations is not empty: ${pyRepr(shown)}`);
  }
  let locations: ImageLocation[];
  if (sameUrls) {
    // Only the metadata changes; the URLs are not checked again (as Glance).
    locations = value.map((l) => ({ url: l.url, metadata: { ...l.metadata }, status: 'active' }));
  } else {
    locations = value.map((l) => checkedLocation(l, opts));
    for (const l of locations) {
      if (locations.filter((o) => sameLocation(o, l)).length > 1) throw new Invalid(`The location ${l.url} already exists`);
    }
  }
  return activate({ ...image, locations }, sameUrls ? [] : value, validation, opts);
}

/** Glance's `_check_image_location`: a store must serve the URL and report a size above 0. */
function checkedLocation(value: RequestedLocation, opts: LocationPatchOptions): ImageLocation {
  const found = opts.probe(value.url);
  if (!found.ok || !(found.size > 0)) throw new Invalid('Invalid location');
  const metadata = found.store !== undefined ? { ...value.metadata, store: found.store } : { ...value.metadata };
  return { url: value.url, metadata, status: 'active' };
}

/** Glance's `_count_duplicated_locations`: same URL and equal metadata. */
function sameLocation(a: ImageLocation, b: ImageLocation): boolean {
  return a.url === b.url && JSON.stringify(sortedKeys(a.metadata)) === JSON.stringify(sortedKeys(b.metadata));
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
}

/**
 * Glance's `_set_image_size` (the first probed size, when the image has none) and, for a
 * queued image, the validation data and the move to active.
 */
function activate(image: Image, added: readonly RequestedLocation[], validation: ValidationData, opts: LocationPatchOptions): Image {
  let next = image;
  if (!next.size) {
    for (const l of added) {
      const found = opts.probe(l.url);
      if (found.ok && found.size > 0) {
        next = { ...next, size: found.size };
        break;
      }
    }
  }
  if (next.status !== 'queued') return next;
  return transition(next, 'active', { ...validation });
}

/**
 * Glance's `_validate_validation_data`: the values given must agree with each other and with
 * what the image has; new values are only for a queued image and must be well formed.
 * @returns the values the image is to take.
 */
function checkValidationData(image: Image, locations: readonly RequestedLocation[], opts: LocationPatchOptions): ValidationData {
  const given = new Map<ValidationKey, string>();
  for (const loc of locations) {
    for (const [k, v] of Object.entries(loc.validation_data ?? {})) {
      const key = k as ValidationKey;
      if (given.has(key) && given.get(key) !== v) throw new Conflict(`Conflicting values for ${key}`);
      given.set(key, v);
    }
  }
  const fresh: ValidationData = {};
  for (const [k, v] of given) {
    const current = image[k];
    if (v === current) continue;
    if (current) throw new Conflict(`${k} is already set with a different value`);
    fresh[k] = v;
  }
  const keys = Object.keys(fresh);
  if (keys.length === 0) return {};
  if (image.status !== 'queued') {
    throw new Conflict(`New value(s) for ${keys.join(', ')} may only be provided when image status is 'queued'`);
  }
  if (fresh.checksum !== undefined) {
    const bytes = hexBytes(fresh.checksum);
    if (bytes === null) throw new Conflict(`checksum (${fresh.checksum}) is not a valid hexadecimal value`);
    if (bytes !== 16) {
      throw new Conflict(`checksum (${fresh.checksum}) is not the correct size for md5 (should be 16 bytes)`);
    }
  }
  const algo = fresh.os_hash_algo;
  if (algo !== opts.hashingAlgorithm) {
    throw new Conflict(`os_hash_algo must be ${opts.hashingAlgorithm}, not ${algo ?? 'None'}`);
  }
  const value = fresh.os_hash_value ?? '';
  const bytes = hexBytes(value);
  if (bytes === null) throw new Conflict(`os_hash_value (${value}) is not a valid hexadecimal value`);
  if (bytes !== opts.hashDigestBytes) {
    throw new Conflict(
      `os_hash_value (${value}) is not the correct size for ${algo} (should be ${opts.hashDigestBytes} bytes)`,
    );
  }
  return fresh;
}

/** Python's `bytearray.fromhex` length: whitespace between pairs allowed; null when not hex. */
function hexBytes(s: string): number | null {
  const compact = s.replace(/\s+/g, '');
  if (compact.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(compact)) return null;
  return compact.length / 2;
}
