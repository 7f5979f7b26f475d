/** The [os_glance_tasks_store] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const OS_GLANCE_TASKS_STORE_OPTIONS = [
  {
    section: 'os_glance_tasks_store',
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'tasks_work_dir'),
    defaultText: '<data_dir>/tasks_work_dir',
    help:
      "Directory of Glance's reserved tasks store, where import tasks keep their work files (for example " +
      "data downloaded by web-download before it is written to a store). Glance's default is " +
      '/var/lib/glance/os_glance_tasks_store.',
  },
] as const satisfies readonly ConfigOption[];
