/**
 * Glance's `_check_location_uri`, shared by JSON-patch on /locations and the v2.17 locations
 * API: a URL from outside is a location only with an allowed scheme (http(s) also through the
 * import filter's address rules), served by a configured store, with a size above 0.
 */
import { Invalid, NotFound } from '../domain/errors.js';
import type { LocationProbe } from '../domain/image-locations.js';
import type { BlobStore } from '../domain/ports.js';

/** Schemes Glance never accepts from outside (glance/common/store_utils.py RESTRICTED_URI_SCHEMAS). */
const RESTRICTED_SCHEMES = new Set(['file', 'filesystem', 'swift+config']);

export interface LocationProbeDeps {
  readonly blobs: Pick<BlobStore, 'locate'>;
  /** Multi-store: the store id goes into the location's metadata. */
  readonly multiStore: boolean;
  /** [import_filtering_opts] for http(s) URLs (Glance's validate_uri). */
  readonly uriAllowed: (uri: string) => boolean;
  /** A store could not answer (logged by the caller); the location is refused. */
  readonly onError?: (imageId: string, error: unknown) => void;
}

export async function probeLocation(deps: LocationProbeDeps, imageId: string, url: string): Promise<LocationProbe> {
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  if (scheme === '' || RESTRICTED_SCHEMES.has(scheme)) return { ok: false };
  if ((scheme === 'http' || scheme === 'https') && !deps.uriAllowed(url)) return { ok: false };
  try {
    const { size, store } = await deps.blobs.locate(url);
    return deps.multiStore ? { ok: true, size, store } : { ok: true, size };
  } catch (e) {
    // Glance treats a store that cannot answer as an invalid location (its http store's
    // get_size returns 0 on a connection error); the cause goes to the log.
    if (!(e instanceof Invalid || e instanceof NotFound)) deps.onError?.(imageId, e);
    return { ok: false };
  }
}
