/** The per-store sections' rows (`[<id>]` of each enabled_backends store; see ../config-options.ts). */
import { join } from 'node:path';
import { storeTypeRows } from '../store-type-options.js';
import type { ConfigOption, OptionContext } from '../option-types.js';

/** How the per-store section is named in the sample and docs: really the store's id. */
export const BACKEND_SECTION_PLACEHOLDER = '<backend id>';

/**
 * The options of each store's own section when [DEFAULT] enabled_backends is set: section
 * `[<id>]` (case-folded like every non-DEFAULT section), environment IRIS__<ID>__<OPTION>. Read
 * only for enabled ids; they become the store's entry in `Config.backends`.
 */
export const BACKEND_OPTIONS: readonly ConfigOption[] = Object.freeze([
  {
    section: BACKEND_SECTION_PLACEHOLDER,
    name: 'filesystem_store_datadir',
    type: 'path',
    default: (ctx: OptionContext) => join(ctx.dataDir, 'images', ctx.storeId ?? ''),
    defaultText: '<data_dir>/images/<backend id>',
    help:
      'Directory where this file store keeps image data. A relative path is relative to the working ' +
      "directory. Two stores may not share a directory, nor use the staging or tasks store's. Glance's " +
      'default is /var/lib/glance/images/ for every store.',
  },
  {
    section: BACKEND_SECTION_PLACEHOLDER,
    name: 'store_description',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Human-readable description of this store, shown to users by GET /v2/info/stores.',
    convert: (value: string) => (value === '' ? null : value),
  },
  // The type's own group (swift_store_*, s3_store_*, https_*), as in [glance_store].
  ...storeTypeRows(BACKEND_SECTION_PLACEHOLDER),
] satisfies ConfigOption[]);
