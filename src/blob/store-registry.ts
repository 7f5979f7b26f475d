/**
 * The store types Iris can run, keyed by Glance's type name: for each, the driver factory fed
 * with the type's parsed option group (`src/config/store-type-options.ts` parses and validates
 * it; `src/blob/store-options.ts` types it) and the properties `/v2/info/stores/detail` shows.
 * Adding a type is one entry here, its option group, and its driver: nothing else names types.
 */
import type { BackendConfig } from '../config/config.js';
import type { AddressPolicy } from '../import/address-check.js';
import type { BlobDriver } from './blob-driver.js';
import { createFilesystemDriver } from './drivers/filesystem-driver.js';
import { createHttpDriver } from './drivers/http-driver.js';
import { createS3Driver } from './drivers/s3-driver.js';
import { createSwiftDriver } from './drivers/swift-driver.js';
import { createRbdDriver } from './drivers/rbd-driver.js';
import type { StoreDriverContext } from './store-options.js';

/** What the composition root knows that drivers may need, besides their own options. */
export interface RegistryContext extends StoreDriverContext {
  /** Which addresses the http store may fetch from ([import_filtering_opts]' address options). */
  readonly addressPolicy: AddressPolicy;
}

type Backend<T extends BackendConfig['type']> = Extract<BackendConfig, { type: T }>;

interface StoreTypeEntry<T extends BackendConfig['type']> {
  /** Uploads are refused (Glance's http store); shown as `read-only` by /v2/info/stores. */
  readonly readOnly: boolean;
  /** @throws Invalid when the driver refuses the options (as Glance refuses them at start). */
  create(backend: Backend<T>, ctx: RegistryContext): BlobDriver;
  /** Glance's per-type properties of /v2/info/stores/detail (glance/api/v2/discovery.py). */
  properties(backend: Backend<T>): Readonly<Record<string, unknown>>;
}

const MB = 1024 * 1024;
/** Glance's filesystem_store_chunk_size default, which Iris does not read: shown as Glance shows it. */
const FILE_CHUNK_SIZE = 64 * 1024;

const REGISTRY: { readonly [T in BackendConfig['type']]: StoreTypeEntry<T> } = {
  file: {
    readOnly: false,
    create: (b, ctx) => createFilesystemDriver({ dir: b.filesystem_store_datadir, onCleanupError: ctx.onCleanupError }),
    properties: (b) => ({ data_dir: b.filesystem_store_datadir, chunk_size: FILE_CHUNK_SIZE, thin_provisioning: false }),
  },
  swift: {
    readOnly: false,
    create: (b, ctx) => createSwiftDriver({ ...b.options, onCleanupError: ctx.onCleanupError, storeId: ctx.storeId }),
    // Glance shows the sizes in bytes, converted from the options' MB.
    properties: (b) => ({
      container: b.options.swift_store_container,
      large_object_size: b.options.swift_store_large_object_size * MB,
      large_object_chunk_size: b.options.swift_store_large_object_chunk_size * MB,
    }),
  },
  s3: {
    readOnly: false,
    create: (b, ctx) => createS3Driver({ ...b.options, onCleanupError: ctx.onCleanupError, storeId: ctx.storeId }),
    properties: (b) => ({
      s3_store_large_object_size: b.options.s3_store_large_object_size * MB,
      s3_store_large_object_chunk_size: b.options.s3_store_large_object_chunk_size * MB,
      s3_store_thread_pools: b.options.s3_store_thread_pools,
    }),
  },
  http: {
    readOnly: true,
    create: (b, ctx) => createHttpDriver({ ...b.options, ...ctx }),
    // Glance: "no useful properties to be exposed".
    properties: () => ({}),
  },
  rbd: {
    readOnly: false,
    create: (b, ctx) => createRbdDriver({ ...b.options, onCleanupError: ctx.onCleanupError, storeId: ctx.storeId }),
    // Glance shows the chunk size in bytes.
    properties: (b) => ({
      chunk_size: b.options.rbd_store_chunk_size * MB,
      pool: b.options.rbd_store_pool,
      thin_provisioning: b.options.rbd_thin_provisioning,
    }),
  },
};

function entryOf<T extends BackendConfig['type']>(backend: Backend<T>): StoreTypeEntry<T> {
  return REGISTRY[backend.type as T];
}

/**
 * Builds the driver of a configured store.
 * @throws Invalid when the driver refuses the type's options.
 * @example const driver = createStoreDriver(config.backends[0], { storeId: 'file', onCleanupError, addressPolicy });
 */
export function createStoreDriver(backend: BackendConfig, ctx: RegistryContext): BlobDriver {
  return entryOf(backend).create(backend as never, ctx);
}

/** The store's properties for /v2/info/stores/detail. */
export function storeProperties(backend: BackendConfig): Readonly<Record<string, unknown>> {
  return entryOf(backend).properties(backend as never);
}

/** Whether uploads to stores of this type are refused (Glance's http store). */
export function isReadOnlyStore(backend: BackendConfig): boolean {
  return entryOf(backend).readOnly;
}
