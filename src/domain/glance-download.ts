/**
 * The glance-download import method's rules (Glance 25.1.0): the request's method members, the
 * remote region's image endpoint found in the caller's token catalog, and which of the remote
 * image's properties the imported image receives. Pure: the HTTP calls to the remote Glance are
 * in src/import/glance-download.ts.
 */
import type { CatalogEntry } from './context.js';
import { Invalid, NotFound } from './errors.js';
import { pyStr } from './py-format.js';

/** What a glance-download import reads: which image, from which region's Glance, by which interface. */
export interface GlanceDownloadMethod {
  readonly region: unknown;
  readonly imageId: string;
  readonly interface: unknown;
}

/**
 * `[glance_download_properties] extra_properties`' default: the prefixes of the remote image's
 * properties that are copied.
 */
export const DEFAULT_EXTRA_PROPERTIES = ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'] as const;

/** Glance's reserved namespace: never copied (its set_image_extra_properties drops these). */
const RESERVED_PREFIX = 'os_glance';

/**
 * Image attributes whose names an `os_` prefix would match. They are the remote image's own
 * attributes, not properties: Glance would store them as properties of the new image, which
 * then carries the remote's hash under a property name; Iris leaves them out.
 */
const ATTRIBUTES = new Set(['os_hash_algo', 'os_hash_value', 'os_hidden']);

/**
 * The import API's checks of a glance-download method (Glance's import_image, after the image's
 * own checks), with Glance's messages; the interface defaults to `public`.
 * @returns the method, and the body's method as the task records it (the default filled in).
 * @throws Invalid 'glance_region' or 'glance_image_id' missing, or the id not a UUID.
 */
export function checkGlanceDownloadMethod(method: Readonly<Record<string, unknown>>): {
  readonly method: GlanceDownloadMethod;
  readonly recorded: Record<string, unknown>;
} {
  if (!('glance_region' in method)) throw new Invalid("'glance_region' needs to be set for glance-download import method");
  if (!('glance_image_id' in method)) throw new Invalid("'glance_image_id' needs to be set for glance-download import method");
  const id = method.glance_image_id;
  if (typeof id !== 'string' || !looksLikeUuid(id)) throw new Invalid(`Remote image id does not look like a UUID: ${pyStr(id)}`);
  const recorded = 'glance_service_interface' in method ? { ...method } : { ...method, glance_service_interface: 'public' };
  return { method: { region: method.glance_region, imageId: id, interface: recorded.glance_service_interface }, recorded };
}

/** Python's uuid.UUID(text) accepts it: hex digits, optional dashes, braces, urn:uuid: prefix. */
function looksLikeUuid(text: string): boolean {
  const hex = text.replaceAll('urn:', '').replaceAll('uuid:', '').replace(/^[{}]+|[{}]+$/g, '').replaceAll('-', '');
  return /^[0-9a-fA-F]{32}$/.test(hex);
}

/** Glance's GlanceEndpointNotFound. */
export class GlanceEndpointNotFound extends NotFound {}

/**
 * The remote Glance's base URL, found as Glance's get_glance_endpoint finds it in the catalog
 * keystonemiddleware hands over: the first `image` service with an endpoint in `region`
 * (compared without regard to case), its URL for `interface` (`public`, `internal`, `admin`,
 * compared as given).
 * @throws GlanceEndpointNotFound no image endpoint in that region; Invalid the region has no
 *   URL for that interface (Glance then fails on a URL of 'None').
 */
export function findGlanceEndpoint(catalog: readonly CatalogEntry[], region: unknown, iface: unknown): string {
  if (typeof region !== 'string' || typeof iface !== 'string') {
    throw new Invalid(`glance_region and glance_service_interface must be strings, not ${pyStr(region)} and ${pyStr(iface)}`);
  }
  for (const service of catalog) {
    if (service.type !== 'image') continue;
    // keystonemiddleware groups a v3 service's endpoints by region, in the order first seen.
    const regions = new Map<string, Map<string, string>>();
    for (const e of service.endpoints) {
      const name = e.region ?? e.region_id;
      if (!name) continue;
      const urls = regions.get(name) ?? new Map<string, string>();
      urls.set(e.interface.toLowerCase(), e.url);
      regions.set(name, urls);
    }
    for (const [name, urls] of regions) {
      if (name.toLowerCase() !== region.toLowerCase()) continue;
      const url = urls.get(iface);
      if (url === undefined) throw new Invalid(`no ${iface} URL for the image service of region ${region}`);
      return url;
    }
  }
  throw new GlanceEndpointNotFound(`${iface} glance endpoint not found for region ${region}`);
}

/**
 * The remote image's properties the new image receives: every member of the remote image whose
 * name starts with one of `prefixes` (Glance matches the whole image body, attributes
 * included), except Glance's reserved namespace, the attributes above and non-string values.
 */
export function copiedProperties(remote: Readonly<Record<string, unknown>>, prefixes: readonly string[]): Record<string, string> {
  const copied: Record<string, string> = {};
  for (const [key, value] of Object.entries(remote)) {
    if (key.startsWith(RESERVED_PREFIX) || ATTRIBUTES.has(key) || typeof value !== 'string') continue;
    if (prefixes.some((p) => key.startsWith(p))) copied[key] = value;
  }
  return copied;
}
