/** The [task] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const TASK_OPTIONS = [
  {
    section: 'task',
    name: 'task_time_to_live',
    type: 'integer',
    default: '48',
    min: 0,
    deprecatedNames: [{ section: 'DEFAULT', name: 'task_time_to_live' }],
    help:
      'Hours a task is kept after it succeeds or fails; after that it may be deleted. The old spelling ' +
      '[DEFAULT] task_time_to_live is still read when this option is set nowhere, with a deprecation warning.',
  },
] as const satisfies readonly ConfigOption[];
