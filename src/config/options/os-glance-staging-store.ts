/** The [os_glance_staging_store] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const OS_GLANCE_STAGING_STORE_OPTIONS = [
  {
    section: 'os_glance_staging_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'staging'),
    defaultText: '<data_dir>/staging',
    help:
      "With [DEFAULT] enabled_backends: directory of Glance's reserved staging store, where image data " +
      'uploaded for glance-direct import waits until it is imported (without enabled_backends, ' +
      "[DEFAULT] node_staging_uri says where). Glance's default is /var/lib/glance/os_glance_staging_store.",
  },
] as const satisfies readonly ConfigOption[];
