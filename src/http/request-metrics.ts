/**
 * The server's side of the metrics: per request, the route template (never the raw URL), the
 * status, the time from the request to the last byte, the bytes the connection carried for
 * it, and the image data transfers in flight.
 */
import type { Socket } from 'node:net';
import { socketBytesOf } from './socket-handover.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IrisMetrics, TransferKind } from '../metrics/iris-metrics.js';

/** The routes that move image data, by method and template. */
const TRANSFERS: Readonly<Record<string, TransferKind>> = {
  'PUT /v2/images/:id/file': 'upload',
  'PUT /v2/images/:id/stage': 'upload',
  'GET /v2/images/:id/file': 'download',
};

/** What a socket had carried when its previous request was counted. */
interface SocketMark {
  read: number;
  written: number;
}

/** The matched route's template; `unmatched` for the not-found handler and framework errors. */
export function routeTemplate(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/**
 * Adds the hooks that feed `metrics`. Bytes are counted on the socket, as the deltas since the
 * previous request on the same connection ended: exact for HTTP/1.1 (requests on a connection
 * are answered in turn), headers included, whatever the body's framing.
 */
export function addRequestMetrics(app: FastifyInstance, metrics: IrisMetrics): void {
  const marks = new WeakMap<Socket, SocketMark>();
  app.addHook('onRequest', async (request, reply) => {
    const kind = TRANSFERS[`${request.method} ${routeTemplate(request)}`];
    if (kind === undefined) return;
    // 'close' comes once per response, finished or aborted: the gauge always comes back down.
    reply.raw.once('close', metrics.transferStarted(kind));
  });
  app.addHook('onResponse', async (request, reply) => {
    const socket = request.raw.socket as Socket | null;
    let bytesIn = 0;
    let bytesOut = 0;
    if (socket) {
      const mark = marks.get(socket) ?? { read: 0, written: 0 };
      const carried = socketBytesOf(socket);
      bytesIn = carried.read - mark.read;
      bytesOut = carried.written - mark.written;
      marks.set(socket, carried);
    }
    metrics.observeHttp({
      method: request.method,
      route: routeTemplate(request),
      status: reply.statusCode,
      seconds: Number(process.hrtime.bigint() - request.startedAt) / 1e9,
      bytesIn,
      bytesOut,
    });
  });
}
