/**
 * The cache API (Glance's /v2/cache, glance/api/v2/router.py + cached_images.py; clean and
 * prune as Glance 2026.1 adds them at v2.18). Thin: parse,
 * call the cache service, render. Glance connects these routes whatever the configuration;
 * without image_cache_dir its controller answers 404 "Caching via API is not supported at
 * this site." once the policy allows, and so does the service here.
 */
import type { CacheRecord } from '../../cache/cache-records.js';
import { sendJson, sendNoContent, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

type IdParams = { id: string };

/** One entry as Glance's cache driver lists it: times in epoch seconds (floats). */
function cachedImageView(r: CacheRecord): Record<string, unknown> {
  return {
    image_id: r.imageId,
    hits: r.hits,
    last_accessed: r.lastAccessed / 1000,
    last_modified: r.lastModified / 1000,
    size: r.size,
  };
}

export function cacheRoutes(deps: HttpDeps): RouteTable {
  const service = deps.cache;
  return [
    {
      path: '/v2/cache',
      methods: {
        GET: async (req, reply) => {
          const { cached, queued } = await service.state(deps.contextOf(req));
          return sendJson(reply, 200, { cached_images: cached.map(cachedImageView), queued_images: queued });
        },
        DELETE: async (req, reply) => {
          const header = req.headers['x-image-cache-clear-target'];
          const target = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
          await service.clear(deps.contextOf(req), target);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/cache/:id',
      methods: {
        DELETE: async (req, reply) => {
          await service.remove(deps.contextOf(req), (req.params as IdParams).id);
          return sendNoContent(reply);
        },
        // After DELETE: the order of Glance's Allow header (DELETE, PUT).
        PUT: async (req, reply) => {
          await service.queue(deps.contextOf(req), (req.params as IdParams).id);
          return reply.code(202).header('content-type', 'text/html; charset=UTF-8').send();
        },
      },
    },
    // API v2.18 (Glance 2026.1). The static paths win over /v2/cache/:id, as in Glance's mapper
    // (DELETE /v2/cache/clean is 405 Allow: POST there too).
    {
      path: '/v2/cache/clean',
      methods: {
        // Glance's serializer sets 200 and leaves webob's empty text/html body.
        POST: async (req, reply) => {
          await service.clean(deps.contextOf(req));
          return reply.code(200).header('content-type', 'text/html; charset=UTF-8').send();
        },
      },
    },
    {
      path: '/v2/cache/prune',
      methods: {
        POST: async (req, reply) => {
          const { files, bytes } = await service.prune(deps.contextOf(req));
          return sendJson(reply, 200, { total_files_pruned: files, total_bytes_pruned: bytes });
        },
      },
    },
  ];
}
