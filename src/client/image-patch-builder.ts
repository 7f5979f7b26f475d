/**
 * Builds the JSON-patch (media type `application/openstack-images-v2.1-json-patch`) for an
 * update from the image as it is and a plain object of changes. Glance is strict about the
 * operation: `replace` of a property the image lacks is a 409, and so is `remove` of one it
 * lacks; so, like glanceclient, the patch is computed against the current record.
 */
import type { Image, ImageChanges, JsonPatchOp } from './image-types.js';

/** Escapes a property name into a JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointer(name: string): string {
  return `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The operations that turn `current` into `current` + `changes` − `remove`. Unchanged values
 * produce no operation; a property both set and removed is an error of the caller.
 *
 * @example
 *   buildImagePatch(image, { name: 'cirros-0.6', hw_disk_bus: 'virtio' }, ['os_distro'])
 *   // [{ op: 'replace', path: '/name', value: 'cirros-0.6' },
 *   //  { op: 'add', path: '/hw_disk_bus', value: 'virtio' },
 *   //  { op: 'remove', path: '/os_distro' }]
 */
export function buildImagePatch(
  current: Readonly<Record<string, unknown>> | Image,
  changes: ImageChanges,
  remove: readonly string[] = [],
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (remove.includes(name)) throw new TypeError(`property ${name} is both set and removed`);
    if (Object.prototype.hasOwnProperty.call(current, name)) {
      if (!sameValue(current[name], value)) ops.push({ op: 'replace', path: pointer(name), value });
    } else {
      ops.push({ op: 'add', path: pointer(name), value });
    }
  }
  // A property already absent is left out rather than sent for a certain 409: the caller's
  // intent ("make it not be there") already holds.
  for (const name of remove) {
    if (Object.prototype.hasOwnProperty.call(current, name)) ops.push({ op: 'remove', path: pointer(name) });
  }
  return ops;
}
