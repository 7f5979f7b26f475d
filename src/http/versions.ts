/**
 * The version document upstream Glance serves (glance/api/versions.py, 2024.2 and later), for
 * Iris's configuration: with image_cache_dir, v2.18 CURRENT, then v2.17, v2.16, v2.15 and v2.14
 * (v2.18 brings POST /v2/cache/clean and /prune, Glance 2026.1); without it v2.15 SUPPORTED.
 * Then v2.13 back to v2.8 with multi-store (enabled_backends) or only v2.9 without; without the
 * cache, v2.17 CURRENT comes next (upstream's order); then v2.7 … v2.0. v2.17 is the locations
 * API (POST/GET /v2/images/{id}/locations, docs/locations.md); Glance 25.1.0 listed v2.16 or
 * v2.15 CURRENT and lacked it. See docs/cache.md.
 */
type Version = readonly [string, 'CURRENT' | 'SUPPORTED'];

/** The options the version list depends on. */
export interface VersionOptions {
  readonly multiStore: boolean;
  /** Whether the image cache (and its API) is on: image_cache_dir set. */
  readonly cache?: boolean;
}

const NO_CACHE: readonly Version[] = [['v2.15', 'SUPPORTED']];
const LOCATIONS_API_CURRENT: readonly Version[] = [['v2.17', 'CURRENT']];
const CACHE: readonly Version[] = [
  ['v2.18', 'CURRENT'],
  ['v2.17', 'SUPPORTED'],
  ['v2.16', 'SUPPORTED'],
  ['v2.15', 'SUPPORTED'],
  ['v2.14', 'SUPPORTED'],
];
const MULTI_STORE: readonly Version[] = ['v2.13', 'v2.12', 'v2.11', 'v2.10', 'v2.9', 'v2.8'].map((id) => [id, 'SUPPORTED'] as const);
const SINGLE_STORE: readonly Version[] = [['v2.9', 'SUPPORTED']];
const OLDER: readonly Version[] = ['v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'].map((id) => [id, 'SUPPORTED'] as const);

function listed(opts: VersionOptions): readonly Version[] {
  const cache = opts.cache === true;
  return [
    ...(cache ? CACHE : NO_CACHE),
    ...(opts.multiStore ? MULTI_STORE : SINGLE_STORE),
    ...(cache ? [] : LOCATIONS_API_CURRENT),
    ...OLDER,
  ];
}

/**
 * @example
 *   versionsDocument('http://127.0.0.1:9292', { multiStore: true }).versions[1].id; // 'v2.13'
 *   versionsDocument('http://127.0.0.1:9292', { multiStore: false }).versions[2].id; // 'v2.17' (CURRENT)
 *   versionsDocument('http://127.0.0.1:9292', { multiStore: false, cache: true }).versions[0].id; // 'v2.18'
 */
export function versionsDocument(baseUrl: string, opts: VersionOptions): Record<string, unknown> {
  return {
    versions: listed(opts).map(([id, status]) => ({ id, status, links: [{ rel: 'self', href: `${baseUrl}/v2/` }] })),
  };
}

/** Version names a URL may start with (`/v2.9/images` is `/v2/images`): v2 and every listed id. */
export function allowedVersions(opts: VersionOptions): ReadonlySet<string> {
  return new Set(['v2', ...listed(opts).map(([id]) => id)]);
}

const MEDIA_TYPE_PREFIX = 'application/vnd.openstack.images-';

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The URL routing sees, after Glance's version negotiation (its VersionNegotiationFilter, then
 * the v2 router): a first segment `versions` (after any leading slashes) is the version list
 * whatever follows; an `Accept: application/vnd.openstack.images-<version>` puts the whole path
 * under that version; otherwise a first segment naming a known version (`v2`, `v2.15`, …) is
 * replaced by `/v2`. Runs of slashes inside the rest collapse (`/v2//images` is `/v2/images`;
 * a trailing `//` stays and finds nothing). An unknown version answers the version list (`/`).
 * `/healthcheck` (after any leading slashes) is answered before negotiation; a path that names
 * no version is left alone (routing answers it with the version list).
 *
 * @example
 *   negotiatedUrl('//v2.9//images?limit=1', undefined, versions); // '/v2/images?limit=1'
 *   negotiatedUrl('/versions/', undefined, versions);              // '/versions'
 */
export function negotiatedUrl(url: string, accept: string | undefined, versions: ReadonlySet<string>): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  // Leading slashes collapse before anything looks at the path (//healthcheck is the health check).
  const trimmed = path.replace(/^\/+/, '');
  if (decodeSegment(trimmed) === 'healthcheck') return `/healthcheck${query}`;
  const slash = trimmed.indexOf('/');
  const first = slash === -1 ? trimmed : trimmed.slice(0, slash);
  if (decodeSegment(first) === 'versions') return `/versions${query}`;
  if (accept !== undefined && accept.startsWith(MEDIA_TYPE_PREFIX)) {
    const version = accept.slice(MEDIA_TYPE_PREFIX.length);
    return versions.has(version) ? `/v2${collapseSlashes(path)}${query}` : `/${query}`;
  }
  if (!versions.has(decodeSegment(first))) return url;
  const rest = slash === -1 ? '' : trimmed.slice(slash);
  return `/v2${collapseSlashes(rest)}${query}`;
}

/** Runs of slashes followed by more path become one; trailing ones are kept. */
function collapseSlashes(path: string): string {
  return path.replace(/\/{2,}(?=[^/])/g, '/');
}
