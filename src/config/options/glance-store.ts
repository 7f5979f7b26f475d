/** The [glance_store] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import { checkStoreType } from '../store-ids.js';
import { storeTypeRows } from '../store-type-options.js';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const GLANCE_STORE_OPTIONS = [
  {
    section: 'glance_store',
    name: 'default_backend',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'With [DEFAULT] enabled_backends: the id of the store that receives image data when the request names ' +
      'none. It must be one of the enabled ids and, as in Glance, it is required in that mode. Ignored ' +
      'without enabled_backends.',
  },
  {
    section: 'glance_store',
    name: 'default_store',
    type: 'string',
    default: 'file',
    help:
      'Store type that new image data is written to (without enabled_backends): file, swift, s3 or rbd (http is ' +
      'read-only), and one of [glance_store] stores. A Glance type Iris lacks (cinder, vmware) stops the start.',
    convert: (value: string) => checkStoreType(value),
  },
  {
    section: 'glance_store',
    name: 'stores',
    type: 'list',
    default: 'file',
    help:
      "Comma-separated store types that are enabled (without enabled_backends): file, swift, s3, http, rbd (the " +
      "install guide's file,http serves images whose location is an http(s) URL). Each type's options are " +
      "read from [glance_store]. A Glance type Iris lacks stops the start. Glance's default is file,http; " +
      "Iris's is file.",
    convert: (value: readonly string[]) => value.map((type) => checkStoreType(type)),
  },
  {
    section: 'glance_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'images'),
    defaultText: '<data_dir>/images',
    help:
      'Directory where the file store keeps image data. A relative path is relative to the working ' +
      "directory. The default is images under data_dir (Glance's is /var/lib/glance/images/).",
  },
  // Each store type's group (swift_store_*, s3_store_*, https_*, rbd_*); typed in Config by src/blob/store-options.ts.
  ...storeTypeRows('glance_store'),
] as const satisfies readonly ConfigOption[];
