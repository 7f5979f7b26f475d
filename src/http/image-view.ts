/**
 * The wire form of an image, field for field and in the order Glance 25.1.0 sends them:
 * extra properties first, then the core fields, then the links.
 */
import type { Image } from '../domain/image.js';

/** Glance's timeutils.isotime: seconds precision, `Z`. */
export function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface ImageViewOptions {
  readonly showDirectUrl: boolean;
  /** show_multiple_locations: the view gains `locations` (url and metadata of each). */
  readonly showLocations?: boolean;
  /** Glance's multi-store mode: the view gains `stores`, the ids of the stores holding the data. */
  readonly multiStore?: boolean;
  /**
   * Whether the caller is an admin. Glance (db/sqlalchemy/api.py _normalize_locations) gives
   * non-admins no locations of a deactivated image, so their view has no `stores` and no
   * `direct_url`; default false.
   */
  readonly callerIsAdmin?: boolean;
}

/** Kept in the image record but never shown (Glance hides it too). */
const HIDDEN_PROPERTIES = new Set(['os_glance_stage_host']);

export function imageView(image: Image, opts: ImageViewOptions): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(image.properties)) if (!HIDDEN_PROPERTIES.has(k)) view[k] = v;
  view.name = image.name;
  view.disk_format = image.disk_format;
  view.container_format = image.container_format;
  view.visibility = image.visibility;
  view.size = image.size;
  view.virtual_size = image.virtual_size;
  view.status = image.status;
  view.checksum = image.checksum;
  view.protected = image.protected;
  view.min_ram = image.min_ram;
  view.min_disk = image.min_disk;
  view.owner = image.owner;
  view.os_hidden = image.os_hidden;
  view.os_hash_algo = image.os_hash_algo;
  view.os_hash_value = image.os_hash_value;
  view.id = image.id;
  view.created_at = isoTime(image.created_at);
  view.updated_at = isoTime(image.updated_at);
  const locations = image.status === 'deactivated' && opts.callerIsAdmin !== true ? [] : image.locations;
  // Glance: `locations` (an empty list rather than none), then `direct_url`, before the tags.
  if (opts.showLocations) {
    view.locations = locations.filter((l) => l.status === 'active').map((l) => ({ url: l.url, metadata: { ...l.metadata } }));
  }
  if (opts.showDirectUrl) {
    const loc = locations.find((l) => l.status === 'active');
    if (loc) view.direct_url = loc.url;
  }
  view.tags = [...image.tags];
  view.self = `/v2/images/${image.id}`;
  view.file = `/v2/images/${image.id}/file`;
  view.schema = '/v2/schemas/image';
  if (opts.multiStore) {
    const stores = locations.map((l) => l.metadata.store).filter((s): s is string => typeof s === 'string' && s !== '');
    if (stores.length > 0) view.stores = stores.join(',');
  }
  return view;
}
