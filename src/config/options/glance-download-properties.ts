/** The [glance_download_properties] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const GLANCE_DOWNLOAD_PROPERTIES_OPTIONS = [
  {
    section: 'glance_download_properties',
    name: 'extra_properties',
    type: 'list',
    default: 'hw_,trait:,os_distro,os_secure_boot,os_type',
    help:
      'glance-download: prefixes of the remote image\'s properties that the imported image receives; the ' +
      'others are not copied. Properties in Glance\'s reserved namespace (os_glance...) and the image ' +
      'attributes os_hash_algo, os_hash_value and os_hidden are never copied. Items may be quoted and the ' +
      'list bracketed, as in Glance: [\'os_\',architecture].',
  },
] as const satisfies readonly ConfigOption[];
