/**
 * The media type of PATCH /v2/images/{id}: it picks the JSON-patch dialect the domain parses
 * (Glance's RequestDeserializer._get_change_operation and its content_types table).
 */
import type { PatchDialect } from '../domain/image-patch.js';

const PATCH_MEDIA_TYPES: Readonly<Record<string, PatchDialect>> = Object.freeze({
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10,
});

/** The `Accept-Patch` header Glance sends with its 415. */
export const ACCEPT_PATCH = Object.keys(PATCH_MEDIA_TYPES).sort().join(', ');

/**
 * The dialect of a PATCH body, or undefined for a media type Glance refuses (415). As webob's
 * `request.content_type`, the type is the header up to the first `;`, compared
 * case-sensitively and not trimmed.
 */
export function patchDialectOf(contentType: string | undefined): PatchDialect | undefined {
  if (contentType === undefined) return undefined;
  const [mediaType = contentType] = contentType.split(';', 1);
  return Object.hasOwn(PATCH_MEDIA_TYPES, mediaType) ? PATCH_MEDIA_TYPES[mediaType] : undefined;
}
