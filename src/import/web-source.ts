/**
 * The web-download source the import service uses, built from the operator's
 * [import_filtering_opts]: Glance's URI filter before the task is created, and the fetcher's
 * connect-time address checks (src/import/web-fetch.ts) while it runs.
 */
import { isIP } from 'node:net';
import type { WebSource } from '../domain/ports.js';
import { isAllowedAddress } from './address-check.js';
import { filterDeniesAddress, hostOf, validateImportUri, type ImportFilterOptions } from './uri-filter.js';
import { openWebDownload } from './web-fetch.js';

export interface WebSourceOptions {
  readonly filter: ImportFilterOptions;
  /** Iris's allow_private_networks. */
  readonly allowPrivateNetworks: boolean;
  /** Iris's allow_loopback (development and tests). */
  readonly allowLoopback: boolean;
}

/**
 * The request-time check: the filter, and for a host written as an IP address the address
 * policy the fetcher applies at connect time. Glance (get_validated_address) resolves and
 * checks the addresses before creating the task, so `http://127.0.0.1/…` is a 400 there, not a
 * failed task; a host name is resolved only at connect time here.
 */
function passesFilter(uri: string, opts: WebSourceOptions): boolean {
  if (!validateImportUri(uri, opts.filter)) return false;
  const host = hostOf(new URL(uri));
  if (isIP(host) === 0) return true;
  return isAllowedAddress(host, opts) && !filterDeniesAddress(host, opts.filter);
}

export function createWebSource(opts: WebSourceOptions): WebSource {
  return {
    passesFilter: (uri) => passesFilter(uri, opts),
    open: (uri, { sizeCap, signal, headers }) =>
      openWebDownload(uri, {
        filter: opts.filter,
        allowPrivateNetworks: opts.allowPrivateNetworks,
        allowLoopback: opts.allowLoopback,
        sizeCap,
        signal,
        headers,
      }),
  };
}
