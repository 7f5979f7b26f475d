/**
 * The HTTP server: Fastify with Glance's routing conventions — fault bodies by Accept,
 * `x-openstack-request-id` on /v2 replies, 405 with Allow, unknown paths outside /v2 answered
 * with the version list (as Glance's version negotiation does), one access-log line per request.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Invalid } from '../domain/errors.js';
import { abortBody } from './body-abort.js';
import { faultFor, methodNotAllowed, renderFault, type Fault } from './faults.js';
import { trackHandlers } from './handler-tracker.js';
import { baseUrl, needsAuthentication, sendJson, type HttpDeps } from './http-context.js';
import type { HttpMethod, RouteTable } from './route-table.js';
import { discoveryRoutes } from './routes/discovery.js';
import { imageDataRoutes } from './routes/image-data.js';
import { imageRoutes } from './routes/images.js';
import { imageImportRoutes } from './routes/image-import.js';
import { memberRoutes } from './routes/members.js';
import { taskRoutes } from './routes/tasks.js';
import { versionsDocument } from './versions.js';

const ALL_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

declare module 'fastify' {
  interface FastifyRequest {
    startedAt: bigint;
  }
}

// Glance's (webob's) reason phrases where Node's differ.
const REASONS: Readonly<Record<number, string>> = { 416: 'Request Range Not Satisfiable' };

function sendFault(request: FastifyRequest, reply: FastifyReply, fault: Fault): FastifyReply {
  const rendered = renderFault(fault, request.headers.accept);
  const reason = REASONS[rendered.status];
  if (reason) reply.raw.statusMessage = reason;
  // Glance's 401 comes from the auth middleware, before a request id exists.
  if (rendered.status === 401) reply.removeHeader('x-openstack-request-id');
  for (const [k, v] of Object.entries(rendered.headers)) reply.header(k, v);
  return reply.code(rendered.status).header('content-type', rendered.contentType).send(Buffer.from(rendered.body));
}

/**
 * Node reports a malformed byte stream on a connection as a client error. When a request is
 * still being handled on it (an upload whose client stopped early, or sent more than its
 * Content-Length), that handler answers in Glance's format and the connection closes after;
 * otherwise a plain 400 goes out directly.
 */
function onClientError(error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (inFlight && !inFlight.headersSent && inFlight.req) {
    if (!inFlight.req.complete) {
      abortBody(inFlight.req, new Invalid('Image data is shorter than the declared Content-Length: the client stopped sending.'));
    }
    inFlight.shouldKeepAlive = false;
    return;
  }
  if (socket.writable && error.code !== 'ECONNRESET') {
    const body = renderFault({ status: 400 }, undefined).body;
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy(error);
  }
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
    clientErrorHandler: onClientError,
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 2048 },
  });

  trackHandlers(app); // graceful shutdown waits for handlers, also those whose client left

  // A client that half-closes after sending its body (SHUT_WR, as some tools do) still gets
  // its answer: Node's http server ends the socket on the client's FIN unless told otherwise.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;

  // Bodies are read by the handlers themselves: JSON bounded in size, image data streamed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    if (request.url.startsWith('/v2')) reply.header('x-openstack-request-id', request.id);
  });

  // Authentication once per request, before routing decides anything (Glance's auth
  // middleware also answers 401 before 404 or 405); /, /versions, /healthcheck stay anonymous.
  app.addHook('onRequest', async (request) => {
    // The matched route too: the router decodes the path, so /%762/images reaches /v2/images.
    if (needsAuthentication(request.url) || needsAuthentication(request.routeOptions.url ?? '')) {
      request.irisContext = await deps.authenticate(request);
    }
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
        // The authenticated identity, not what the client claims in headers.
        project: request.irisContext?.projectId ?? null,
        user: request.irisContext?.userId ?? null,
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

  const routes: RouteTable = [
    ...discoveryRoutes(deps),
    ...imageRoutes(deps),
    ...imageDataRoutes(deps),
    ...memberRoutes(deps),
    ...imageImportRoutes(deps),
    ...taskRoutes(deps),
  ];
  for (const route of routes) {
    const allowed = Object.keys(route.methods) as HttpMethod[];
    for (const method of allowed) {
      app.route({ method, url: route.path, handler: route.methods[method]! });
    }
    const others = ALL_METHODS.filter((m) => !allowed.includes(m as HttpMethod));
    app.route({
      method: others as HttpMethod[],
      url: route.path,
      handler: async (request, reply) => {
        if (request.method === 'HEAD') {
          // webob answers HEAD with headers only: an empty text/html body.
          return reply
            .code(405)
            .header('allow', allowed.join(', '))
            .header('content-type', 'text/html; charset=UTF-8')
            .header('content-length', '0')
            .send();
        }
        return sendFault(request, reply, methodNotAllowed(request.method, allowed));
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    // Glance's version negotiation answers anything outside /v2 with the version list.
    if (!request.url.startsWith('/v2/') && request.url !== '/v2') {
      return sendJson(reply, 300, versionsDocument(baseUrl(deps.config, request), { multiStore: deps.config.multi_store }));
    }
    return sendFault(request, reply, { status: 404 });
  });

  return app;
}
