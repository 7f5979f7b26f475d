/**
 * The v2.17 locations API (`POST /v2/images/{id}/locations`), as upstream Glance (2024.2 and
 * later) defines it: the request's shape (its `add_location` schema), the hash checks made
 * before answering 202 (`_validate_hashing_data`), and the image states of the background flow
 * (glance/async_/flows/location_import.py). Pure: the service does the I/O.
 */
import { createHash, getHashes } from 'node:crypto';
import { Conflict, Invalid } from './errors.js';
import { transition, type Image, type ImageLocation } from './image.js';

/** The hash algorithms the request schema lets validation_data name. */
export const LOCATION_HASH_ALGOS = ['sha1', 'sha256', 'sha512', 'md5'] as const;

export interface LocationValidationData {
  readonly os_hash_algo: string;
  readonly os_hash_value: string;
}

export interface AddLocationRequest {
  readonly url: string;
  readonly validationData?: LocationValidationData;
}

const SCHEMA_ERROR = "Provided object does not match schema 'add_location'";

/**
 * The request body as upstream's schema accepts it: `url` a string; `validation_data` an object
 * of exactly `os_hash_algo` (one of LOCATION_HASH_ALGOS) and `os_hash_value` (hex of the
 * algorithm's digest length), both or neither. @throws Invalid (400).
 */
export function parseAddLocationRequest(body: unknown): AddLocationRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Invalid(`${SCHEMA_ERROR}: not an object`);
  const { url, validation_data: vd } = body as Record<string, unknown>;
  if (typeof url !== 'string') throw new Invalid(`${SCHEMA_ERROR}: 'url' is a required string`);
  if (vd === undefined || vd === null) return { url };
  if (typeof vd !== 'object' || Array.isArray(vd)) throw new Invalid(`${SCHEMA_ERROR}: 'validation_data' is not an object`);
  const fields = vd as Record<string, unknown>;
  const extra = Object.keys(fields).filter((k) => k !== 'os_hash_algo' && k !== 'os_hash_value');
  if (extra.length > 0) throw new Invalid(`${SCHEMA_ERROR}: additional properties are not allowed (${extra.join(', ')})`);
  const { os_hash_algo: algo, os_hash_value: value } = fields;
  if (algo === undefined && value === undefined) return { url };
  if (typeof algo !== 'string' || typeof value !== 'string') {
    throw new Invalid(`${SCHEMA_ERROR}: os_hash_algo and os_hash_value are strings given together`);
  }
  if (!(LOCATION_HASH_ALGOS as readonly string[]).includes(algo)) {
    throw new Invalid(`${SCHEMA_ERROR}: os_hash_algo '${algo}' is not one of ${LOCATION_HASH_ALGOS.join(', ')}`);
  }
  if (value.length > 128) throw new Invalid(`${SCHEMA_ERROR}: os_hash_value is longer than 128`);
  checkHashValue(algo, value);
  return { url, validationData: { os_hash_algo: algo, os_hash_value: value } };
}

/** Upstream's `_validate_hashing_data`: hex, and the digest length of its algorithm. */
function checkHashValue(algo: string, value: string): void {
  const compact = value.replace(/\s+/g, '');
  if (compact.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(compact)) {
    throw new Invalid(`os_hash_value (${value}) is not a valid hexadecimal value`);
  }
  if (!getHashes().includes(algo)) throw new Invalid(`unsupported hash type ${algo}`);
  const want = createHash(algo).digest().length;
  if (compact.length / 2 !== want) {
    throw new Invalid(`os_hash_value: (${value}) is not the correct size for (${algo}) (should be (${want}) bytes)`);
  }
}

/** Upstream adds locations this way to queued images only. @throws Conflict (409). */
export function assertLocationAddable(image: Image): void {
  if (image.status !== 'queued') throw new Conflict(`It's not allowed to add locations if image status is ${image.status}.`);
}

/**
 * The location appended to a queued image (upstream's `_UpdateLocationTask` through
 * StoreLocations.append): the image takes the store's size when it has none.
 */
export function withAddedLocation(image: Image, location: ImageLocation, size: number): Image {
  return { ...image, locations: [...image.locations, location], size: image.size || size };
}

/** Hashing starts (`_CalculateHash`): a queued image is `importing` while its data is read. */
export function hashingStarted(image: Image, algo: string): Image {
  const moved = image.status === 'queued' ? transition(image, 'importing') : image;
  return { ...moved, os_hash_algo: algo };
}

/** The digests the data gave. */
export function hashed(image: Image, checksum: string, osHashValue: string): Image {
  return { ...image, checksum, os_hash_value: osHashValue };
}

/** The hash checked (or not asked for): the image is active (`_SetImageToActiveTask`). */
export function locationActive(image: Image, values: Partial<Pick<Image, 'os_hash_algo' | 'os_hash_value'>> = {}): Image {
  return transition(image, 'active', values);
}

/**
 * Upstream's reverts after a failed check or read: the image goes back to `queued` with no
 * hash, and loses the new location unless it is an http one (the http store cannot delete;
 * upstream keeps it). `clearDigests` false is `_CalculateHash`'s revert alone (only the
 * algorithm goes).
 */
export function locationImportReverted(image: Image, addedUrl: string, clearDigests: boolean): Image {
  const keepLocation = /^https?:/i.test(addedUrl);
  const locations = keepLocation ? image.locations : image.locations.filter((l) => l.url !== addedUrl);
  const back = image.status === 'queued' ? image : transition(image, 'queued');
  return {
    ...back,
    locations,
    os_hash_algo: null,
    ...(clearDigests ? { os_hash_value: null, checksum: null } : {}),
  };
}
