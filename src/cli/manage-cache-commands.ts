/**
 * iris-manage cache …: the node's image cache for operators without the API (what Glance's
 * glance-cache-manage and the cache cron jobs did). They act on the cache of the node the
 * configuration names (image_cache_dir, worker_self_reference_url), through the shared database.
 *
 *   iris-manage cache list           cached images (size, hits, last access) and the queue
 *   iris-manage cache queue <id>     queue an active image for this node's prefetcher
 *   iris-manage cache delete <id>    remove an image from this node's cache and queue
 *   iris-manage cache prune          prune to image_cache_max_size and the free-space floor
 *   iris-manage cache clean          remove stalled incomplete files and invalid entries
 */
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { configuredImageCache } from '../cache/configured-cache.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { Database } from '../persistence/database.js';
import { createImageRepository } from '../persistence/image-repository.js';
import type { ManageIo } from './iris-manage.js';

type WithDatabase = <R>(work: (database: Database) => Promise<R>) => Promise<R>;

export function addCacheCommands(program: Command, io: ManageIo, config: () => Config, withDatabase: WithDatabase): void {
  /** Runs `work` on this node's cache; an error when the configuration has none. */
  const withCache = (work: (cache: ImageCache, database: Database) => Promise<void>) => async () => {
    const cfg = config();
    if (cfg.DEFAULT.image_cache_dir === null) throw new Error('[DEFAULT] image_cache_dir is not set: this node has no image cache');
    await withDatabase(async (database) => {
      const cache = configuredImageCache(cfg, database.db, {
        onError: (message, err, extra) => io.stderr(`iris-manage: ${message} ${JSON.stringify(extra)}${err instanceof Error ? `: ${err.message}` : ''}\n`),
      })!;
      await cache.prepare();
      await work(cache, database);
      await cache.settled();
    });
  };

  const group = program.command('cache').description("this node's image cache (image_cache_dir)").exitOverride();
  group
    .command('list')
    .description('list cached and queued images')
    .exitOverride()
    .action(
      withCache(async (cache) => {
        const cached = await cache.listCached();
        io.stdout(`Cached images on ${cache.node}: ${cached.length}\n`);
        for (const r of cached) {
          io.stdout(`${r.imageId}  ${r.size} bytes  ${r.hits} hits  last accessed ${new Date(r.lastAccessed).toISOString()}\n`);
        }
        const queued = await cache.listQueued();
        io.stdout(`Queued images: ${queued.length}\n`);
        for (const id of queued) io.stdout(`${id}\n`);
      }),
    );
  group
    .command('queue <image_id>')
    .description("queue an active image for this node's prefetcher")
    .exitOverride()
    .action((id: string) =>
      withCache(async (cache, database) => {
        const image = await createImageRepository(database.db, { engine: database.engine }).get(id);
        if (image === null) throw new Error(`Image ${id} not found.`);
        if (image.status !== 'active') throw new Error('Only images with status active can be targeted for queueing');
        if (await cache.isCached(id)) io.stdout(`Image ${id} is already cached.\n`);
        else io.stdout((await cache.queue(id)) ? `Image ${id} queued for caching.\n` : `Image ${id} is already queued.\n`);
      })(),
    );
  group
    .command('delete <image_id>')
    .description("remove an image from this node's cache and queue")
    .exitOverride()
    .action((id: string) =>
      withCache(async (cache) => {
        const cached = await cache.deleteCached(id);
        const queued = await cache.dequeue(id);
        io.stdout(cached || queued ? `Image ${id} removed from the cache${queued ? ' queue' : ''}.\n` : `Image ${id} was neither cached nor queued.\n`);
      })(),
    );
  group
    .command('prune')
    .description('remove least recently used images beyond image_cache_max_size or the free-space floor')
    .exitOverride()
    .action(
      withCache(async (cache) => {
        const { files, bytes } = await cache.prune();
        io.stdout(`Pruned ${files} image(s), ${bytes} bytes.\n`);
      }),
    );
  group
    .command('clean')
    .description('remove stalled incomplete files and entries of images gone, inactive or changed')
    .exitOverride()
    .action(
      withCache(async (cache) => {
        const { stalled, invalid, orphans } = await cache.clean();
        io.stdout(`Removed ${stalled} stalled incomplete file(s), ${invalid} invalid entr${invalid === 1 ? 'y' : 'ies'}, ${orphans} orphan file(s).\n`);
      }),
    );
}
