/**
 * The cache API's use cases (Glance's CacheController, glance/api/v2/cached_images.py, as
 * 25.1.0 serves it with image_cache_dir set): the node's cache state, clearing it, queueing an
 * image for the prefetcher, removing one image from the cache and the queue; and API v2.18's
 * clean and prune (Glance 2026.1). Each action is checked against its policy rule (cache_list,
 * cache_delete, cache_image, cache_clean, cache_prune) in Glance's order. The clean and prune
 * work itself is the cache's (ImageCache.clean/prune), the same code iris-manage and the
 * prefetcher run.
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import type { Image } from '../domain/image.js';
import type { CacheRecord } from '../cache/cache-records.js';
import type { CleanResult, ImageCache, PruneResult } from '../cache/image-cache.js';
import type { ImageService } from './images.js';

export type CacheRule = 'cache_list' | 'cache_delete' | 'cache_image' | 'cache_clean' | 'cache_prune';

export interface ImageCacheServiceDeps {
  /** The node's cache; null when image_cache_dir is unset (the API then answers Glance's 404). */
  readonly cache: Pick<
    ImageCache,
    'listCached' | 'listQueued' | 'deleteAllCached' | 'clearQueue' | 'queue' | 'deleteCached' | 'dequeue' | 'clean' | 'prune'
  > | null;
  readonly imageService: Pick<ImageService, 'findVisible'>;
  /** Whether the rule allows the caller (on the image, when there is one). */
  readonly allows: (ctx: RequestContext, rule: CacheRule, image: Image | null) => boolean;
}

/** What `x-image-cache-clear-target` asks to clear ('' = both). */
export type ClearTarget = '' | 'cache' | 'queue';

export type ImageCacheService = ReturnType<typeof createImageCacheService>;

export function createImageCacheService(deps: ImageCacheServiceDeps) {
  /** The rule first, then whether there is a cache at all (Glance's CacheController._enforce). */
  function enforce(ctx: RequestContext, rule: CacheRule, image: Image | null): NonNullable<ImageCacheServiceDeps['cache']> {
    // Glance's APIPolicyBase wording.
    if (!deps.allows(ctx, rule, image)) throw new Forbidden(`You are not authorized to complete ${rule} action.`);
    if (deps.cache === null) throw new NotFound('Caching via API is not supported at this site.');
    return deps.cache;
  }

  /** The image if the caller can see it, else null. */
  async function lookup(ctx: RequestContext, id: string): Promise<Image | null> {
    try {
      return await deps.imageService.findVisible(ctx, id);
    } catch (e) {
      if (e instanceof NotFound) return null;
      throw e;
    }
  }

  return {
    /** GET /v2/cache. */
    async state(ctx: RequestContext): Promise<{ cached: CacheRecord[]; queued: string[] }> {
      const cache = enforce(ctx, 'cache_list', null);
      const [cached, queued] = await Promise.all([cache.listCached(), cache.listQueued()]);
      return { cached, queued };
    },

    /** DELETE /v2/cache: how many entries and queued images were removed, per target. */
    async clear(ctx: RequestContext, target: string): Promise<{ cache_deleted?: number; queue_deleted?: number }> {
      const cache = enforce(ctx, 'cache_delete', null);
      if (target === '') return { cache_deleted: await cache.deleteAllCached(), queue_deleted: await cache.clearQueue() };
      if (target === 'cache') return { cache_deleted: await cache.deleteAllCached() };
      if (target === 'queue') return { queue_deleted: await cache.clearQueue() };
      throw new Invalid("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.");
    },

    /** PUT /v2/cache/{id}: queues an active image for this node's prefetcher. */
    async queue(ctx: RequestContext, id: string): Promise<void> {
      const image = await lookup(ctx, id);
      if (image === null) throw new NotFound(`Image ${id} not found.`);
      const cache = enforce(ctx, 'cache_image', image);
      if (image.status !== 'active') throw new Invalid('Only images with status active can be targeted for queueing');
      await cache.queue(id);
    },

    /** DELETE /v2/cache/{id}: out of the cache and the queue; 404 only when neither the image nor an entry exists. */
    async remove(ctx: RequestContext, id: string): Promise<void> {
      const image = await lookup(ctx, id);
      if (image === null && deps.cache !== null) {
        const [cached, queued] = await Promise.all([deps.cache.listCached(), deps.cache.listQueued()]);
        if (!queued.includes(id) && !cached.some((r) => r.imageId === id)) throw new NotFound(`Image ${id} not found.`);
      }
      const cache = enforce(ctx, 'cache_delete', image);
      await cache.deleteCached(id);
      await cache.dequeue(id);
    },

    /** POST /v2/cache/clean (v2.18): stalled incomplete files, orphan files and invalid entries go. */
    async clean(ctx: RequestContext): Promise<CleanResult> {
      return enforce(ctx, 'cache_clean', null).clean();
    },

    /** POST /v2/cache/prune (v2.18): least recently used entries go until the cache is within its limits. */
    async prune(ctx: RequestContext): Promise<PruneResult> {
      return enforce(ctx, 'cache_prune', null).prune();
    },
  };
}
