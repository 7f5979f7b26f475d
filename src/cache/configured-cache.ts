/**
 * The image cache of a configuration: null without image_cache_dir, else the node's cache over
 * the shared database. Used by the API server (main.ts) and iris-manage alike, so both see the
 * same node identity and directory.
 */
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Config } from '../config/config.js';
import type { Schema } from '../persistence/schema.js';
import { createCacheRecordRepository } from '../persistence/image-cache-repository.js';
import { createImageCache, type ImageCache, type ImageCacheOptions } from './image-cache.js';

/**
 * The node's identity in the cache records: worker_self_reference_url, as Glance's
 * centralized_db driver uses it; else public_endpoint; else this host and port.
 */
export function cacheNodeIdentity(config: Config): string {
  return config.DEFAULT.worker_self_reference_url ?? config.DEFAULT.public_endpoint ?? `http://${hostname()}:${config.DEFAULT.bind_port}`;
}

/** What the operator chose, and what Iris does with it: one line for the start log. */
export function cacheDriverStatement(config: Config): string {
  const driver = config.DEFAULT.image_cache_driver;
  if (driver === 'centralized_db') return 'image cache: centralized_db (records in the shared database, files in this node\'s directory)';
  return `image cache: image_cache_driver = ${driver} is treated as centralized_db (records in the shared database, files in this node's directory; no ${driver === 'sqlite' ? 'per-node SQLite file' : 'extended attributes'})`;
}

export function configuredImageCache(
  config: Config,
  db: Kysely<Schema>,
  hooks: Pick<ImageCacheOptions, 'onError' | 'onEvent'> & Partial<Pick<ImageCacheOptions, 'now'>>,
): ImageCache | null {
  const dir = config.DEFAULT.image_cache_dir;
  if (dir === null) return null;
  return createImageCache({
    dir,
    node: cacheNodeIdentity(config),
    records: createCacheRecordRepository(db),
    maxSize: config.DEFAULT.image_cache_max_size,
    stallTimeMs: config.DEFAULT.image_cache_stall_time * 1000,
    minFreeSpace: config.image_cache_min_free_space,
    now: hooks.now ?? Date.now,
    onError: hooks.onError,
    ...(hooks.onEvent ? { onEvent: hooks.onEvent } : {}),
  });
}
