/** /v2/images/{id}/file: streaming upload and download. */
import { UnsupportedMediaType, Invalid } from '../../domain/errors.js';
import { contentRange } from '../../blob/range.js';
import { onBodyAbort } from '../body-abort.js';
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
          const result = await deps.imageData.download(ctx, id, {
            range: req.headers.range,
            contentRange: req.headers['content-range'],
          });
          if (result.kind === 'no-data') return reply.code(204).header('content-length', '0').send();
          const { image, stream, size, range } = result;
          reply.header('content-type', 'application/octet-stream');
          if (image.checksum) reply.header('content-md5', image.checksum);
          if (range) {
            reply.code(206);
            reply.header('content-range', contentRange(range, size));
            reply.header('content-length', String(range.end - range.start + 1));
          } else {
            reply.code(200);
            reply.header('content-length', String(size));
          }
          // Fastify pipes the stream and destroys it if the client leaves; the filesystem store's
          // stream then writes straight to the socket (src/blob/drivers/file-read-stream.ts).
          return reply.send(stream);
        },
        PUT: async (req, reply) => {
          // Glance checks the media type before anything else, even before finding the image.
          if (mediaType(req) !== 'application/octet-stream') {
            throw new UnsupportedMediaType(req.headers['content-type'] ?? 'None');
          }
          const ctx = deps.contextOf(req);
          const { id } = req.params as IdParams;
          const lengthHeader = req.headers['content-length'];
          let contentLength: number | undefined;
          if (lengthHeader !== undefined) {
            contentLength = Number(lengthHeader);
            if (!Number.isSafeInteger(contentLength) || contentLength < 0) throw new Invalid('Invalid Content-Length.');
          }
          // Abort the store write as soon as the client goes away mid-body.
          const abort = new AbortController();
          const onClose = () => {
            if (!req.raw.complete) abort.abort(new Invalid('Client disconnected before sending all image data.'));
          };
          req.raw.once('close', onClose);
          const forget = onBodyAbort(req.raw, (reason) => abort.abort(reason));
          try {
            // Multi-store: X-Image-Meta-Store picks the store (default: the default store);
            // without enabled_backends Glance ignores the header.
            const header = req.headers['x-image-meta-store'];
            const store = deps.config.multi_store && typeof header === 'string' ? header : undefined;
            await deps.imageData.upload(ctx, id, req.raw, { contentLength, signal: abort.signal, store });
          } catch (e) {
            // The rest of the body was not read: close rather than let keep-alive drain it.
            reply.header("connection", "close");
            throw e;
          } finally {
            forget();
            req.raw.off('close', onClose);
          }
          return sendNoContent(reply);
        },
      },
    },
  ];
}
