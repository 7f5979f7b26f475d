/**
 * CORS as oslo.middleware's CORS filter does it at the front of Glance's pipeline ([cors]
 * options, Glance's defaults in config-options.ts):
 * - every OPTIONS request is answered 200 with an empty body and no Content-Type, unless the
 *   path itself answers OPTIONS with a 2xx (/versions, /healthcheck); the filter turns any other
 *   answer, a 401 or a 405 included, into that 200, so a browser preflight never needs a token;
 * - a preflight (OPTIONS with an allowed Origin, an allowed Access-Control-Request-Method and
 *   only allowed Access-Control-Request-Headers) gets Access-Control-Allow-Origin, -Credentials,
 *   -Max-Age, -Allow-Methods (the requested one), -Allow-Headers (the requested ones), Vary;
 * - any other request from an allowed Origin gets Access-Control-Allow-Origin, -Credentials,
 *   -Expose-Headers and Vary: Origin, whatever its status;
 * - nothing at all for an origin that is not allowed, or when allowed_origin is empty.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';

/** The `[cors]` options (oslo.middleware's names and Glance's defaults). */
export type CorsOptions = Config['cors'];

/** Headers a preflight may always ask for (the CORS spec's simple headers, as oslo lists them). */
const SIMPLE_HEADERS: readonly string[] = [
  'Accept', 'Accept-Language', 'Content-Type', 'Cache-Control', 'Content-Language', 'Expires', 'Last-Modified', 'Pragma',
];

/** Paths whose own OPTIONS answer is a 2xx, which the filter passes through (see server routes). */
const OPTIONS_ANSWERED_BY_ROUTE: ReadonlySet<string> = new Set(['/versions', '/healthcheck']);

type Headers = Record<string, string>;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The allowed-origin entry matching `origin` (itself, or `*`), undefined when none does. */
function matchOrigin(options: CorsOptions, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (options.allowed_origin.includes(origin)) return origin;
  return options.allowed_origin.includes('*') ? '*' : undefined;
}

/**
 * The headers a preflight earns, or an empty object when it is not one oslo answers.
 *
 * @example
 *   preflightHeaders(opts, { origin: 'https://a.example', method: 'GET' })['access-control-allow-methods']; // 'GET'
 */
export function preflightHeaders(
  options: CorsOptions,
  req: { readonly origin?: string; readonly method?: string; readonly requestHeaders?: string },
): Headers {
  const origin = matchOrigin(options, req.origin);
  if (origin === undefined || req.method === undefined) return {};
  if (!options.allow_methods.includes(req.method)) return {};
  const requested = (req.requestHeaders ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const permitted = new Set([...options.allow_headers, ...SIMPLE_HEADERS].map((h) => h.toUpperCase()));
  if (requested.some((h) => !permitted.has(h.toUpperCase()))) return {};
  const out: Headers = { vary: 'Origin', 'access-control-allow-origin': origin };
  if (options.allow_credentials) out['access-control-allow-credentials'] = 'true';
  if (options.max_age) out['access-control-max-age'] = String(options.max_age);
  out['access-control-allow-methods'] = req.method;
  if (requested.length > 0) out['access-control-allow-headers'] = requested.join(',');
  return out;
}

/** The headers an actual (non-OPTIONS) request from `origin` earns; empty when not allowed. */
export function actualRequestHeaders(options: CorsOptions, origin: string | undefined): Headers {
  const matched = matchOrigin(options, origin);
  if (matched === undefined) return {};
  const out: Headers = { vary: 'Origin', 'access-control-allow-origin': matched };
  if (options.allow_credentials) out['access-control-allow-credentials'] = 'true';
  if (options.expose_headers.length > 0) out['access-control-expose-headers'] = options.expose_headers.join(',');
  return out;
}

/**
 * The onRequest hook; register it before authentication. Headers go on the raw response so
 * they survive error replies and streamed downloads alike.
 */
export function corsHook(options: CorsOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    const origin = header(request, 'origin');
    if (request.method !== 'OPTIONS') {
      for (const [k, v] of Object.entries(actualRequestHeaders(options, origin))) reply.raw.setHeader(k, v);
      return undefined;
    }
    const headers = preflightHeaders(options, {
      origin,
      method: header(request, 'access-control-request-method'),
      requestHeaders: header(request, 'access-control-request-headers'),
    });
    for (const [k, v] of Object.entries(headers)) reply.raw.setHeader(k, v);
    const path = request.url.split('?', 1)[0] ?? '';
    if (OPTIONS_ANSWERED_BY_ROUTE.has(path)) return undefined;
    // The filter's own answer replaces the application's (no request id, no Content-Type).
    reply.removeHeader('x-openstack-request-id');
    return reply.code(200).send();
  };
}
