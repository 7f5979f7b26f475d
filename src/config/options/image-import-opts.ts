/** The [image_import_opts] section's rows of the option table (see ../config-options.ts). */
import { namesFrom } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

/** Glance's import plugins ([image_import_opts] image_import_plugins); no_op is its sample default. */
export const IMPORT_PLUGINS: readonly string[] = ['image_conversion', 'image_decompression', 'inject_image_metadata', 'no_op'];

export const IMAGE_IMPORT_OPTS_OPTIONS = [
  // Import plugins (src/import/plugins/): Glance's option names and sections.
  {
    section: 'image_import_opts',
    name: 'image_import_plugins',
    type: 'list',
    default: '',
    help:
      'Plugins run, in this order, on the staged data of glance-direct and web-download imports before it ' +
      'goes to the stores (never on copy-image): image_decompression (gzip, zip or LHA data is decompressed), ' +
      'image_conversion (the image is converted to [image_conversion] output_format with qemu-img, after the ' +
      'format inspector has checked it), inject_image_metadata (properties from [inject_metadata_properties] ' +
      'are added), no_op (does nothing). Brackets are allowed, as in Glance: [image_decompression,image_conversion]. ' +
      'Empty (the default): no plugins. The tools are found on PATH: qemu-img (Debian qemu-utils) for ' +
      'image_conversion, unzip and lha (Debian unzip and lhasa) for zip and LHA data; gzip needs none.',
    convert: namesFrom('import plugin', 'plugins', IMPORT_PLUGINS),
  },
] as const satisfies readonly ConfigOption[];
