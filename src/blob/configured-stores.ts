/**
 * The image stores of a configuration as one BlobStore, as iris-api and iris-scrubber both
 * need them: one driver per enabled backend (or the single legacy store) from the store
 * registry, clean-up failures logged with the image id, trace lines at debug level.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { Invalid } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';
import { createBlobStore, type BlobTrace } from './blob-store.js';
import { sharedTransferPool } from './fd-transfer.js';
import { createStoreDriver } from './store-registry.js';

/** A store whose options its driver refuses: `[<id>] <type> store: <reason>`. */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}

/** A store and how to ask it cheaply whether it answers (the health check's probe). */
export interface ConfiguredStore {
  readonly id: string;
  readonly type: string;
  readonly probe?: (signal: AbortSignal) => Promise<void>;
}

/**
 * The image stores, and each store's probe. `observe` also receives every trace line (metrics).
 * @example const { blobs, stores } = configuredStores(config, logger); … await blobs.close();
 */
export function configuredStores(
  config: Config,
  logger: Logger,
  opts: { readonly observe?: (fields: BlobTrace) => void } = {},
): { readonly blobs: BlobStore; readonly stores: ConfiguredStore[] } {
  const onCleanupError = (message: string, err: unknown, extra?: Record<string, unknown>) => logger.error({ err, ...extra }, message);
  const filtering = config.import_filtering_opts;
  const addressPolicy = { allowPrivateNetworks: filtering.allow_private_networks, allowLoopback: filtering.allow_loopback };
  const backends = config.backends.map((b) => {
    try {
      return { id: b.id, type: b.type, driver: createStoreDriver(b, { storeId: b.id, onCleanupError, addressPolicy }) };
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      const where = b.legacy ? '[glance_store]' : `[${b.id}]`;
      throw new StoreConfigError(`${where} ${b.type} store: ${e.message}`, { cause: e });
    }
  });
  const blobs = createBlobStore({
    backends,
    defaultBackend: config.default_backend_id,
    onCleanupError,
    partialWriteMaxAgeMs: config.partial_write_max_age * 1000,
    transfers: config.direct_transfers ? sharedTransferPool() : null,
    trace: (fields, message) => {
      logger.debug(fields, message);
      opts.observe?.(fields);
    },
  });
  const stores = backends.map(({ id, type, driver }) => ({ id, type, ...(driver.probe ? { probe: (signal: AbortSignal) => driver.probe!(signal) } : {}) }));
  return { blobs, stores };
}

/** @example const blobs = configuredBlobStore(config, logger); … await blobs.close(); */
export function configuredBlobStore(config: Config, logger: Logger): BlobStore {
  return configuredStores(config, logger).blobs;
}
