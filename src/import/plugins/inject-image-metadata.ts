/**
 * Glance's `inject_image_metadata` import plugin: sets the properties of
 * `[inject_metadata_properties] inject` on every imported image, unless the caller who asked
 * for the import holds one of `ignore_user_roles` (default admin).
 *
 * As in Glance (glance/async_/flows/plugins/inject_image_metadata.py and
 * ImportActionWrapper.set_image_extra_properties): injected values overwrite the image's own,
 * and keys in the reserved namespace (`os_glance`, a bare prefix) are dropped with a warning.
 * Roles are compared without regard to case, as Iris's policy checks compare them.
 */
import type { ImportPlugin } from '../../domain/ports.js';

/** Glance's GLANCE_RESERVED_NS: a bare prefix, so `os_glancefoo` is reserved too. */
const RESERVED_PREFIX = 'os_glance';

export interface InjectImageMetadataOptions {
  /** `[inject_metadata_properties] inject`. */
  readonly inject: Readonly<Record<string, string>>;
  /** `[inject_metadata_properties] ignore_user_roles`. */
  readonly ignoreUserRoles: readonly string[];
  /** Told of each reserved key dropped (Glance logs a warning). */
  readonly onDropped?: (info: { readonly imageId: string; readonly key: string }) => void;
}

/**
 * Creates the plugin.
 * @example createInjectImageMetadataPlugin({ inject: { hw_vif_model: 'virtio' }, ignoreUserRoles: ['admin'] })
 */
export function createInjectImageMetadataPlugin(opts: InjectImageMetadataOptions): ImportPlugin {
  const ignored = new Set(opts.ignoreUserRoles.map((role) => role.toLowerCase()));
  return {
    name: 'inject_image_metadata',
    async run(ctx) {
      if (ctx.roles.some((role) => ignored.has(role.toLowerCase()))) return;
      const properties: Record<string, string> = {};
      for (const [key, value] of Object.entries(opts.inject)) {
        if (key.startsWith(RESERVED_PREFIX)) opts.onDropped?.({ imageId: ctx.imageId, key });
        else properties[key] = value;
      }
      if (Object.keys(properties).length === 0) return;
      return { properties };
    },
  };
}
