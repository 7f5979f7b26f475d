/**
 * What route handlers share: the services, the request → context step, and small reply
 * helpers. Routes stay thin: parse, call one service method, render.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { RequestContext } from '../domain/context.js';
import { Invalid } from '../domain/errors.js';
import type { BodyAborts } from './body-abort.js';
import { forwardedOrigin } from './forwarded.js';
import type { ImageCacheService } from '../services/image-cache.js';
import type { ImageDataService } from '../services/image-data.js';
import type { LocationImportService } from '../services/location-import.js';
import type { ImageImportService } from '../services/image-import.js';
import type { ImageService } from '../services/images.js';
import type { MemberService } from '../services/members.js';
import type { MetadefService } from '../services/metadefs.js';
import type { QuotaService } from '../services/quotas.js';
import type { TaskService } from '../services/tasks.js';
import { pyJson } from './py-json.js';
import type { IrisMetrics } from '../metrics/iris-metrics.js';
import type { HealthChecks } from '../health/health-checks.js';

export interface HttpDeps {
  readonly config: Config;
  readonly images: ImageService;
  readonly imageData: ImageDataService;
  readonly members: MemberService;
  readonly tasks: TaskService;
  readonly imports: ImageImportService;
  /** The v2.17 locations API (/v2/images/{id}/locations). */
  readonly locations: Pick<LocationImportService, 'add' | 'list'>;
  /** The metadata definitions catalog (/v2/metadefs). */
  readonly metadefs: MetadefService;
  /** The cache API (/v2/cache); answers Glance's 404 when image_cache_dir is unset. */
  readonly cache: ImageCacheService;
  /** Usage report of GET /v2/info/usage (services/quotas.ts). */
  readonly quotas: Pick<QuotaService, 'usage'>;
  /** Whether the policy rule `rule` (no image target) allows the caller: checks made at the edge. */
  readonly ruleAllows: (ctx: RequestContext, rule: string) => boolean;
  /**
   * Authenticates a /v2 request; the server calls it once per request, in its onRequest hook.
   * Rejects with Unauthorized or ServiceUnavailable (see auth/authenticator.ts).
   */
  readonly authenticate: (request: FastifyRequest) => Promise<RequestContext>;
  /** The caller's context, as `authenticate` made it for this request (see `authenticatedContext`). */
  readonly contextOf: (request: FastifyRequest) => RequestContext;
  /** How the connection tells a body's reader that the body will never complete (main.ts makes one). */
  readonly bodies: BodyAborts;
  /** Where request figures go (absent: no metrics). */
  readonly metrics?: IrisMetrics;
  /** The checks of the detailed health view (absent: only disable_by_file). */
  readonly health?: HealthChecks;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the server's authentication hook on /v2 requests. */
    irisContext?: RequestContext;
  }
}

/** The context the authentication hook stored; a route outside /v2 asking for one is a bug. */
export function authenticatedContext(request: FastifyRequest): RequestContext {
  if (request.irisContext === undefined) throw new Error(`no authenticated context for ${request.method} ${request.url}`);
  return request.irisContext;
}

/** Paths behind authentication: /v2 and below, as behind Glance's auth middleware. */
export function needsAuthentication(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

/** Largest JSON body accepted (metadata only; image data never goes through this). */
export const MAX_JSON_BODY = 1024 * 1024;

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer, so Fastify leaves the Content-Type as Glance sends it (no charset added).
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(pyJson(body)));
}

/** Glance answers 204s with an empty text/html body; clients ignore it, transcripts show it. */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).header('content-type', 'text/html; charset=UTF-8').send();
}

/**
 * Base URL for absolute links (Location, version hrefs): public_endpoint, else the scheme and
 * host the client used: the proxy's Forwarded / X-Forwarded-* headers when the operator trusts
 * them (enable_proxy_headers_parsing), else the connection's scheme and the Host header.
 */
export function baseUrl(config: Config, request: FastifyRequest): string {
  if (config.DEFAULT.public_endpoint) return config.DEFAULT.public_endpoint.replace(/\/+$/, '');
  const proxied = config.oslo_middleware.enable_proxy_headers_parsing ? forwardedOrigin(request.headers) : {};
  const host = proxied.host ?? request.headers.host ?? `${config.DEFAULT.bind_host}:${config.DEFAULT.bind_port}`;
  return `${proxied.proto ?? request.protocol}://${host}`;
}

export function mediaType(request: FastifyRequest): string | undefined {
  const ct = request.headers['content-type'];
  if (ct === undefined) return undefined;
  return ct.split(';')[0]!.trim().toLowerCase();
}

/** Deepest nesting of arrays and objects accepted in a JSON body (Glance's bodies need 3). */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Nesting depth of a parsed JSON value, without recursion (the value may be hostile). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Reads and parses a JSON request body, bounded in size and nesting. Glance's messages for the
 * errors; bytes that are not UTF-8 are malformed JSON (as in Glance), not replaced silently.
 */
export async function readJsonBody(bodies: Pick<BodyAborts, 'readBody'>, request: FastifyRequest): Promise<unknown> {
  const body = await bodies.readBody(request.raw, MAX_JSON_BODY, 'The body of your request was too large for this server.');
  if (body.length === 0) throw new Invalid('Body expected in request.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch {
    throw new Invalid('Malformed JSON in request body.');
  }
  if (jsonDepth(parsed) > MAX_JSON_DEPTH) {
    throw new Invalid(`Malformed JSON in request body: nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return parsed;
}

/** The query string as ordered pairs, repeated keys kept (what webob's MultiDict gives Glance). */
export function queryPairs(request: FastifyRequest): [string, string][] {
  const i = request.url.indexOf('?');
  if (i < 0) return [];
  return [...new URLSearchParams(request.url.slice(i + 1))];
}
