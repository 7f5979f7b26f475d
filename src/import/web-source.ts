/**
 * The web-download source the import service uses, built from the operator's
 * [import_filtering_opts]: Glance's URI filter before the task is created, and the fetcher's
 * connect-time address checks (src/import/web-fetch.ts) while it runs.
 */
import type { WebSource } from '../services/image-import.js';
import { validateImportUri, type ImportFilterOptions } from './uri-filter.js';
import { openWebDownload } from './web-fetch.js';

export interface WebSourceOptions {
  readonly filter: ImportFilterOptions;
  /** Iris's allow_private_networks. */
  readonly allowPrivateNetworks: boolean;
  /** Iris's allow_loopback (development and tests). */
  readonly allowLoopback: boolean;
}

export function createWebSource(opts: WebSourceOptions): WebSource {
  return {
    passesFilter: (uri) => validateImportUri(uri, opts.filter),
    open: (uri, { sizeCap, signal }) =>
      openWebDownload(uri, {
        filter: opts.filter,
        allowPrivateNetworks: opts.allowPrivateNetworks,
        allowLoopback: opts.allowLoopback,
        sizeCap,
        signal,
      }),
  };
}
