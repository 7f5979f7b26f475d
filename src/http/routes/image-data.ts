/** /v2/images/{id}/file: streaming upload and download. */
import { UnsupportedMediaType } from '../../domain/errors.js';
import { declaredLength } from '../body-abort.js';
import { offerSocketBody, socketBodyOptions } from '../socket-handover.js';
import { offerChunkRelease } from '../chunk-releasing-response.js';
import { contentRange, rangeLength, rangeRequestOf } from '../range-header.js';
import { mediaType, sendNoContent, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

type IdParams = { id: string };

export function imageDataRoutes(deps: HttpDeps): RouteTable {
  return [
    {
      path: '/v2/images/:id/file',
      methods: {
        GET: async (req, reply) => {
          const ctx = deps.contextOf(req);
          const { id } = req.params as IdParams;
          const result = await deps.imageData.download(ctx, id, rangeRequestOf(req.headers));
          if (result.kind === 'no-data') return reply.code(204).header('content-length', '0').send();
          const { image, stream, size, range } = result;
          reply.header('content-type', 'application/octet-stream');
          if (image.checksum) reply.header('content-md5', image.checksum);
          if (range) {
            reply.code(206);
            reply.header('content-range', contentRange(range, size));
            reply.header('content-length', String(rangeLength(range)));
          } else {
            reply.code(200);
            reply.header('content-length', String(size));
          }
          // Fastify pipes the stream and destroys it if the client leaves; a stream that can reuse
          // its buffers (the filesystem store's, the cache's) then writes straight to the socket.
          offerChunkRelease(reply.raw);
          return reply.send(stream);
        },
        PUT: async (req, reply) => {
          // Glance checks the media type before anything else, even before finding the image.
          if (mediaType(req) !== 'application/octet-stream') {
            throw new UnsupportedMediaType(req.headers['content-type'] ?? 'None');
          }
          const ctx = deps.contextOf(req);
          const { id } = req.params as IdParams;
          const contentLength = declaredLength(req.headers['content-length']);
          // Multi-store: X-Image-Meta-Store picks the store (default: the default store);
          // without enabled_backends Glance ignores the header.
          const header = req.headers['x-image-meta-store'];
          const store = deps.config.multi_store && typeof header === 'string' ? header : undefined;
          if (deps.config.direct_transfers) offerSocketBody(req.raw, reply.raw, socketBodyOptions(deps.config));
          await deps.bodies.withBodyStream(req.raw, () => void reply.header('connection', 'close'), (signal) =>
            deps.imageData.upload(ctx, id, req.raw, { contentLength, signal, store }),
          );
          return sendNoContent(reply);
        },
      },
    },
  ];
}
