/**
 * The image stores of a configuration as one BlobStore, as iris-api and iris-scrubber both
 * need them: one driver per enabled backend (or the single legacy store) from the store
 * registry, clean-up failures logged with the image id, trace lines at debug level.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { Invalid } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';
import { createBlobStore } from './blob-store.js';
import { createStoreDriver } from './store-registry.js';

/** A store whose options its driver refuses: `[<id>] <type> store: <reason>`. */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}

/** @example const blobs = configuredBlobStore(config, logger); … await blobs.close(); */
export function configuredBlobStore(config: Config, logger: Logger): BlobStore {
  const onCleanupError = (message: string, err: unknown, extra?: Record<string, unknown>) => logger.error({ err, ...extra }, message);
  const filtering = config.import_filtering_opts;
  const addressPolicy = { allowPrivateNetworks: filtering.allow_private_networks, allowLoopback: filtering.allow_loopback };
  return createBlobStore({
    backends: config.backends.map((b) => {
      try {
        return { id: b.id, driver: createStoreDriver(b, { storeId: b.id, onCleanupError, addressPolicy }) };
      } catch (e) {
        if (!(e instanceof Invalid)) throw e;
        const where = b.legacy ? '[glance_store]' : `[${b.id}]`;
        throw new StoreConfigError(`${where} ${b.type} store: ${e.message}`, { cause: e });
      }
    }),
    defaultBackend: config.default_backend_id,
    onCleanupError,
    partialWriteMaxAgeMs: config.partial_write_max_age * 1000,
    trace: (fields, message) => logger.debug(fields, message),
  });
}
