/**
 * The HTTP server: Fastify with Glance's routing conventions — fault bodies by Accept,
 * `x-openstack-request-id` on /v2 replies, 405 with Allow, unknown paths outside /v2 answered
 * with the version list (as Glance's version negotiation does), one access-log line per request.
 */
import { randomUUID } from 'node:crypto';
import { METHODS, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Invalid } from '../domain/errors.js';
import { bodyEndedEarly, bodyIdleLimitMs, bodyTimeout, type BodyAborts } from './body-abort.js';
import { corsHook } from './cors.js';
import { faultFor, methodNotAllowed, renderFault, type Fault } from './faults.js';
import { trackHandlers } from './handler-tracker.js';
import { lingerIfBodyUnread } from './lingering-close.js';
import { requestLogger, withRequestIds, type RequestLogIds } from '../logging.js';
import { globalRequestId } from './request-id.js';
import { addRequestMetrics } from './request-metrics.js';
import { baseUrl, needsAuthentication, sendJson, type HttpDeps } from './http-context.js';
import type { HttpMethod, RouteTable } from './route-table.js';
import { cacheRoutes } from './routes/cache.js';
import { anyMethodRoutes, discoveryRoutes } from './routes/discovery.js';
import { usageRoutes } from './routes/usage.js';
import { imageDataRoutes } from './routes/image-data.js';
import { imageRoutes } from './routes/images.js';
import { imageLocationRoutes } from './routes/image-locations.js';
import { imageImportRoutes } from './routes/image-import.js';
import { memberRoutes } from './routes/members.js';
import { metadefRoutes } from './routes/metadefs.js';
import { taskRoutes } from './routes/tasks.js';
import { allowedVersions, negotiatedUrl, versionsDocument } from './versions.js';

// Every method Node parses: Glance answers them all, 405 or the version list (CONNECT comes
// through routeConnect below).
const ALL_METHODS: readonly string[] = METHODS;

declare module 'fastify' {
  interface FastifyRequest {
    startedAt: bigint;
    /** The caller's global request id (request-id.ts), null when none or malformed. */
    globalRequestId: string | null;
    /** The server's logger with this request's ids on every line. */
    irisLog: Logger;
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

/** The request's logger (its ids on every line), also for a request that failed before the hooks ran. */
function requestLog(request: FastifyRequest, logger: Logger): Logger {
  return (request.irisLog as Logger | undefined) ?? requestLogger(logger, { req_id: request.id });
}

function logIds(request: FastifyRequest): RequestLogIds {
  return request.globalRequestId === null ? { req_id: request.id } : { req_id: request.id, global_request_id: request.globalRequestId };
}

/** How long a connection whose request went bad may live before it is cut, whatever the handler does. */
const BAD_CONNECTION_GRACE_MS = 10_000;

/** Cuts `socket` after a grace period unless it closes first (a backstop, never the normal path). */
function destroyLater(socket: Socket, ms: number): void {
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** What the handler reading the body is told when Node's parser gives up on the connection. */
function parseFailure(error: Error & { code?: string }): Error {
  if (error.code === 'HPE_INVALID_EOF_STATE') return bodyEndedEarly();
  if (error.code?.startsWith('HPE_INVALID_CHUNK') || error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return new Invalid('Malformed chunked transfer encoding in the request body.');
  }
  return new Invalid('Malformed request body.');
}

/**
 * Node reports a malformed byte stream on a connection as a client error, and from then on
 * the connection carries nothing more. When a request is being handled on it, whoever reads
 * (or will read) its body is told the body failed, so the handler answers in Glance's format
 * and the connection closes after that answer; otherwise a plain 400 goes out directly. Either
 * way the socket is gone within a bounded time: a bad request never holds a connection.
 */
function onClientError(bodies: BodyAborts, error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (inFlight?.req && !inFlight.writableFinished) {
    inFlight.shouldKeepAlive = false;
    // An answer already under way (a download) ends on its own, and the connection with it.
    if (inFlight.headersSent) return;
    if (!inFlight.req.complete) bodies.abortBody(inFlight.req, parseFailure(error));
    destroyLater(socket, BAD_CONNECTION_GRACE_MS);
    return;
  }
  if (socket.writable && error.code !== 'ECONNRESET') {
    const body = renderFault({ status: 400 }, undefined).body;
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    destroyLater(socket, 1000);
  } else {
    socket.destroy(error);
  }
}

/**
 * Gives up on a request body that stops arriving: after `seconds` without a byte its reader is
 * aborted (an upload goes back to queued) and the caller gets 408; the connection then closes.
 * Once the body is in, the connection's idle timeout is `idleMs` again (client_socket_timeout).
 */
function watchBodyProgress(bodies: BodyAborts, request: IncomingMessage, response: ServerResponse, seconds: number, idleMs: number): void {
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (seconds <= 0 || request.complete || (!chunked && !(Number(request.headers['content-length']) > 0))) return;
  const socket = request.socket;
  const limitMs = bodyIdleLimitMs(seconds, idleMs);
  const onTimeout = () => {
    request.off('timeout', onTimeout);
    response.shouldKeepAlive = false;
    bodies.abortBody(request, bodyTimeout(limitMs / 1000));
    destroyLater(socket, BAD_CONNECTION_GRACE_MS);
  };
  const restore = () => {
    request.off('timeout', onTimeout);
    if (!socket.destroyed) socket.setTimeout(idleMs);
  };
  socket.setTimeout(limitMs);
  // Node's http server asks the request first when its socket times out mid-body.
  request.on('timeout', onTimeout);
  request.once('end', restore);
  response.once('finish', restore);
}

/**
 * Node hands CONNECT requests to a 'connect' listener with the bare socket (or drops them when
 * there is none); Glance routes CONNECT like any other method. Give it a response object and
 * let the router answer (405 with Allow on an API path), then close the connection.
 */
function routeConnect(server: Server, request: IncomingMessage, socket: Duplex): void {
  // The authority form (`CONNECT host:port`) names no path: Glance answers it as an unknown
  // path (the version list).
  if (request.url !== undefined && !request.url.startsWith('/')) request.url = `/${request.url}`;
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket as Socket);
  response.once('finish', () => socket.end());
  socket.once('error', () => socket.destroy());
  destroyLater(socket as Socket, BAD_CONNECTION_GRACE_MS);
  server.emit('request', request, response);
}

export function buildServer(deps: HttpDeps, logger: Logger): FastifyInstance {
  const idleMs = deps.config.DEFAULT.client_socket_timeout * 1000;
  const versions = allowedVersions({ multiStore: deps.config.multi_store, cache: deps.config.DEFAULT.image_cache_dir !== null });
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    // Image ids and tags arrive in the path; keep the limits generous but bounded.

    bodyLimit: 1024 * 1024,
    genReqId: () => `req-${randomUUID()}`,
    requestIdHeader: false,
    return503OnClosing: true,
    clientErrorHandler: (error, socket) => onClientError(deps.bodies, error, socket),
    // Glance's client_socket_timeout: a connection idle this long is closed (0 = never).
    connectionTimeout: idleMs,
    // Glance's version negotiation: /v2.9/images, //v2//images, /versions/… (see versions.ts).
    rewriteUrl: (req) => negotiatedUrl(req.url ?? '/', req.headers.accept, versions),
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 2048 },
    // A path the router cannot decode (`/v2/images/%zz`) or too long a segment: Glance finds no
    // such resource (404 under /v2, the version list elsewhere), in its own fault format.
    frameworkErrors: (_error, request, reply) => {
      if (!needsAuthentication(request.url)) {
        sendJson(reply, 300, versionsDocument(baseUrl(deps.config, request), { multiStore: deps.config.multi_store, cache: deps.config.DEFAULT.image_cache_dir !== null }));
        return;
      }
      reply.header('x-openstack-request-id', request.id);
      sendFault(request, reply, { status: 404 });
    },
  });

  trackHandlers(app); // graceful shutdown waits for handlers, also those whose client left
  if (deps.metrics) addRequestMetrics(app, deps.metrics);

  // A client that half-closes after sending its body (SHUT_WR, as some tools do) still gets
  // its answer: Node's http server ends the socket on the client's FIN unless told otherwise.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => routeConnect(app.server, request, socket));

  // Bodies are read by the handlers themselves: JSON bounded in size, image data streamed.
  for (const m of ALL_METHODS) if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    lingerIfBodyUnread(request.raw);
    request.globalRequestId = globalRequestId(request.headers);
    request.irisLog = requestLogger(logger, logIds(request));
    watchBodyProgress(deps.bodies, request.raw, reply.raw, deps.config.body_idle_timeout, idleMs);
  });
  // The rest of the request (hooks, handler, what they start) runs with its ids for the log:
  // lines that services write through the process's logger carry them too.
  app.addHook('onRequest', (request, _reply, done) => withRequestIds(logIds(request), done));
  // Before authentication: a browser's preflight carries no token.
  app.addHook('onRequest', corsHook(deps.config.cors));

  app.addHook('onRequest', async (request, reply) => {
    if (needsAuthentication(request.url)) reply.header('x-openstack-request-id', request.id);
  });

  // Authentication once per request, before routing decides anything (Glance's auth
  // middleware also answers 401 before 404 or 405); /, /versions, /healthcheck stay anonymous.
  app.addHook('onRequest', async (request) => {
    // The matched route too: the router decodes the path, so /%762/images reaches /v2/images.
    if (needsAuthentication(request.url) || needsAuthentication(request.routeOptions.url ?? '')) {
      const ctx = await deps.authenticate(request);
      request.irisContext = request.globalRequestId === null ? ctx : { ...ctx, globalRequestId: request.globalRequestId };
    }
  });

  // An answer given before the body was read ends the connection: keep-alive would leave the
  // rest of the body to be read as the next request, or (a reader that stopped) wedge the
  // connection until it times out. The close lingers so the answer arrives (lingering-close.ts).
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.raw.complete) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const ms = Number(process.hrtime.bigint() - request.startedAt) / 1e6;
    const h = request.headers;
    requestLog(request, logger).info(
      {
        method: request.method,
        path: request.originalUrl,
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
    if (fault.status >= 500) requestLog(request, logger).error({ err: error }, 'unhandled error');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return sendFault(request, reply, fault);
  });

  const routes: RouteTable = [
    ...discoveryRoutes(deps),
    ...imageRoutes(deps),
    ...imageLocationRoutes(deps),
    ...imageDataRoutes(deps),
    ...memberRoutes(deps),
    ...imageImportRoutes(deps),
    ...taskRoutes(deps),
    ...metadefRoutes(deps),
    ...cacheRoutes(deps),
    ...usageRoutes(deps),
  ];
  for (const route of anyMethodRoutes(deps)) {
    app.route({ method: ALL_METHODS as HttpMethod[], url: route.path, handler: route.handler });
  }
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
        const status = route.otherMethodsNotFound === true ? 404 : 405;
        if (request.method === 'HEAD') {
          // webob answers HEAD with headers only: an empty text/html body.
          if (status === 405) reply.header('allow', allowed.join(', '));
          return reply
            .code(status)
            .header('content-type', 'text/html; charset=UTF-8')
            .header('content-length', '0')
            .send();
        }
        if (status === 404) return sendFault(request, reply, { status });
        return sendFault(request, reply, methodNotAllowed(request.method, allowed));
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    // Glance's version negotiation answers anything outside /v2 with the version list.
    if (!request.url.startsWith('/v2/') && request.url !== '/v2') {
      return sendJson(reply, 300, versionsDocument(baseUrl(deps.config, request), { multiStore: deps.config.multi_store, cache: deps.config.DEFAULT.image_cache_dir !== null }));
    }
    return sendFault(request, reply, { status: 404 });
  });

  return app;
}
