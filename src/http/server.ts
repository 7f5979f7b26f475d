/**
 * The HTTP server: Fastify with Glance's routing conventions — fault bodies by Accept,
 * `x-openstack-request-id` on /v2 replies, 405 with Allow, unknown paths outside /v2 answered
 * with the version list (as Glance's version negotiation does), one access-log line per request.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { faultFor, methodNotAllowed, renderFault, type Fault } from './faults.js';
import { baseUrl, sendJson, type HttpDeps } from './http-context.js';
import type { HttpMethod, RouteTable } from './route-table.js';
import { discoveryRoutes } from './routes/discovery.js';
import { imageDataRoutes } from './routes/image-data.js';
import { imageRoutes } from './routes/images.js';
import { versionsDocument } from './versions.js';

const ALL_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

declare module 'fastify' {
  interface FastifyRequest {
    startedAt: bigint;
  }
}

function sendFault(request: FastifyRequest, reply: FastifyReply, fault: Fault): FastifyReply {
  const rendered = renderFault(fault, request.headers.accept);
  for (const [k, v] of Object.entries(rendered.headers)) reply.header(k, v);
  return reply.code(rendered.status).header('content-type', rendered.contentType).send(Buffer.from(rendered.body));
}

export function buildServer(deps: HttpDeps, logger: Logger): FastifyInstance {
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    // Image ids and tags arrive in the path; keep the limits generous but bounded.

    bodyLimit: 1024 * 1024,
    genReqId: () => `req-${randomUUID()}`,
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 2048 },
  });

  // Bodies are read by the handlers themselves: JSON bounded in size, image data streamed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    if (request.url.startsWith('/v2')) reply.header('x-openstack-request-id', request.id);
  });

  app.addHook('onResponse', async (request, reply) => {
    const ms = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
    const h = request.headers;
    logger.info(
      {
        req_id: request.id,
        method: request.method,
        path: request.url,
        status: reply.statusCode,
        bytes_in: Number(h['content-length'] ?? 0) || (request.raw.readableLength ?? 0),
        bytes_out: Number(reply.getHeader('content-length') ?? 0),
        ms: Math.round(ms * 100) / 100,
        project: h['x-project-id'] ?? h['x-tenant-id'] ?? null,
        user: h['x-user-id'] ?? null,
        remote: request.ip,
      },
      'request',
    );
  });

  app.setErrorHandler((error, request, reply) => {
    const fastifyStatus = (error as { statusCode?: number }).statusCode;
    let fault = faultFor(error);
    if (fault.status === 500 && fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 500) {
      fault = { status: fastifyStatus };
    }
    if (fault.status >= 500) logger.error({ err: error, req_id: request.id }, 'unhandled error');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return sendFault(request, reply, fault);
  });

  const routes: RouteTable = [...discoveryRoutes(deps), ...imageRoutes(deps), ...imageDataRoutes(deps)];
  for (const route of routes) {
    const allowed = Object.keys(route.methods) as HttpMethod[];
    for (const method of allowed) {
      app.route({ method, url: route.path, handler: route.methods[method]! });
    }
    const others = ALL_METHODS.filter((m) => !allowed.includes(m as HttpMethod));
    app.route({
      method: others as HttpMethod[],
      url: route.path,
      handler: async (request, reply) => sendFault(request, reply, methodNotAllowed(request.method, allowed)),
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    // Glance's version negotiation answers anything outside /v2 with the version list.
    if (!request.url.startsWith('/v2/') && request.url !== '/v2') {
      return sendJson(reply, 300, versionsDocument(baseUrl(deps.config, request)));
    }
    return sendFault(request, reply, { status: 404 });
  });

  return app;
}
