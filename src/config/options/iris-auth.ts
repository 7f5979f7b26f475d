/** The [iris_auth] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const IRIS_AUTH_OPTIONS = [
  {
    section: 'iris_auth',
    name: 'api_key_file',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'api-keys.json'),
    defaultText: '<data_dir>/api-keys.json',
    help:
      'Iris only. File holding the API keys of flavor apikey (SHA-256 digests, never the keys), managed with ' +
      'iris-manage key create/list/revoke. The server notices changes within a second.',
  },
] as const satisfies readonly ConfigOption[];
