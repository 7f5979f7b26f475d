/** The [image_conversion] section's rows of the option table (see ../config-options.ts). */
import { isOneOf } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

/** [image_conversion] output_format: Glance's choices. */
export const CONVERSION_OUTPUT_FORMATS = ['raw', 'qcow2', 'vmdk'] as const;

export const IMAGE_CONVERSION_OPTIONS = [
  {
    section: 'image_conversion',
    name: 'output_format',
    type: 'string',
    default: 'raw',
    help:
      'Disk format the image_conversion import plugin converts images to: raw, qcow2 or vmdk (the choices ' +
      'Glance allows). Images already in this format are not converted. Sources must be raw, qcow2, vmdk, vhd, ' +
      'vhdx or vdi and must be of their declared disk_format; other disk formats (iso, ami, ploop...) fail the ' +
      'import when the plugin is enabled, as in Glance.',
    convert: (value: string) => {
      if (!isOneOf(value, CONVERSION_OUTPUT_FORMATS)) {
        throw new Error(`${JSON.stringify(value)} is not one of ${CONVERSION_OUTPUT_FORMATS.join(', ')}`);
      }
      return value;
    },
  },
] as const satisfies readonly ConfigOption[];
