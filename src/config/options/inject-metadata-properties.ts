/** The [inject_metadata_properties] section's rows of the option table (see ../config-options.ts). */
import { parseInjectedProperties } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

export const INJECT_METADATA_PROPERTIES_OPTIONS = [
  {
    section: 'inject_metadata_properties',
    name: 'ignore_user_roles',
    type: 'list',
    default: 'admin',
    help:
      'The inject_image_metadata import plugin adds nothing to images imported by a caller holding any of ' +
      'these roles (compared without regard to case).',
  },
  {
    section: 'inject_metadata_properties',
    name: 'inject',
    type: 'string',
    default: '',
    help:
      'Properties the inject_image_metadata import plugin sets on imported images, as key:value pairs ' +
      'separated by commas (oslo.config dict syntax: k1:v1,k2:v2; a value may contain ":" but not ","). They ' +
      "overwrite the image's own values. Keys in Glance's reserved namespace (os_glance...) are dropped at " +
      'import with a warning, as in Glance; keys longer than 255 characters and image attribute names (name, ' +
      'status, disk_format...) are refused at start.',
    convert: parseInjectedProperties,
  },
] as const satisfies readonly ConfigOption[];
