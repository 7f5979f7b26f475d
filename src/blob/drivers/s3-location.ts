/**
 * S3 store locations in glance_store's own form, so a database carried over from Glance resolves:
 * `s3://ACCESS:SECRET@host[:port][/prefix]/bucket/key` for an http endpoint and
 * `s3+https://…` for https (`s3+http://` is read as http too).
 *
 * Iris writes the same form without the credentials (`s3://host:port/bucket/key`): secrets then
 * never reach the database, the locations API or a log line, and rotating the keys does not
 * strand stored images. Reads and deletes always use the configured store's keys.
 *
 * Glance's own parser splits the credentials at the first `:`, so an access key with a colon
 * (tempauth's `account:user`) comes back wrong; here the credentials are cut off at the last `@`
 * and never split, which no valid bucket name or image id can contain.
 */
import { Invalid } from '../../domain/errors.js';

/** The parts of an S3 location that say where the object is. */
export interface S3Location {
  /** `https` for `s3+https`, else `http`. */
  readonly protocol: 'http' | 'https';
  /** The service address as written in the location: `host[:port][/prefix]`, without slashes at the ends. */
  readonly service: string;
  readonly bucket: string;
  readonly key: string;
  /** Whether the location carried `user:secret@` (Glance writes it; Iris does not). */
  readonly hadCredentials: boolean;
}

const SCHEMES: Readonly<Record<string, 'http' | 'https'>> = { s3: 'http', 's3+http': 'http', 's3+https': 'https' };

/** The location scheme glance_store uses for an endpoint of this protocol. */
export function s3Scheme(protocol: 'http' | 'https'): 's3' | 's3+https' {
  return protocol === 'https' ? 's3+https' : 's3';
}

/**
 * Builds Iris's location for an object: Glance's form without credentials.
 *
 * @example
 * formatS3Location({ protocol: 'http', service: '127.0.0.1:8080', bucket: 'glance', key: id });
 * // 's3://127.0.0.1:8080/glance/<id>'
 */
export function formatS3Location(loc: Omit<S3Location, 'hadCredentials'>): string {
  return `${s3Scheme(loc.protocol)}://${loc.service}/${loc.bucket}/${loc.key}`;
}

/**
 * Parses an `s3://`, `s3+http://` or `s3+https://` location, with or without credentials.
 * The credentials are dropped unread.
 *
 * @throws Invalid when the location is not an S3 location or lacks a service, bucket or key.
 *   The message never repeats the location: it may hold a secret.
 */
export function parseS3Location(location: string): S3Location {
  const sep = location.indexOf('://');
  const protocol = sep > 0 ? SCHEMES[location.slice(0, sep).toLowerCase()] : undefined;
  if (protocol === undefined) throw badLocation('not an S3 location');
  let rest = location.slice(sep + 3);
  // Like Glance: a second scheme (`s3://k:s@https://host/…`) is refused, not guessed at.
  if (rest.includes('://')) throw badLocation('more than one scheme');
  const at = rest.lastIndexOf('@');
  const hadCredentials = at >= 0;
  if (hadCredentials) rest = rest.slice(at + 1);
  // Glance strips slashes at both ends, then reads the key and the bucket off the end.
  const parts = rest.replace(/^\/+|\/+$/g, '').split('/');
  const key = parts.pop();
  const bucket = parts.pop();
  if (!key || !bucket || parts.length === 0 || parts.some((p) => p === '')) {
    throw badLocation('missing service, bucket or key');
  }
  const service = parts.join('/');
  return { protocol, service, bucket, key, hadCredentials };
}

function badLocation(why: string): Invalid {
  return new Invalid(`Invalid S3 location: ${why}`);
}
