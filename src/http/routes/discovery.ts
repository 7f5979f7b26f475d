/** Version discovery, JSON schemas and the health check. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  imageSchema,
  imagesSchema,
  memberSchema,
  membersSchema,
  taskSchema,
  tasksSchema,
} from '../../domain/image-schemas.js';
import { disableByFile } from '../../health/health-checks.js';
import { IDENTITY_HEADERS } from '../../auth/request-context.js';
import { userToken } from '../../auth/authenticator.js';
import { healthcheckReply, serverFacts } from '../healthcheck.js';
import { baseUrl, sendJson, type HttpDeps } from '../http-context.js';
import { versionsDocument } from '../versions.js';
import type { RouteTable } from '../route-table.js';

export function discoveryRoutes(deps: HttpDeps): RouteTable {
  const formats = {
    diskFormats: deps.config.image_format.disk_formats,
    containerFormats: deps.config.image_format.container_formats,
  };
  // Schemas depend only on configuration: render them once.
  const schemas: Record<string, unknown> = {
    image: imageSchema(formats),
    images: imagesSchema(formats),
    member: memberSchema(),
    members: membersSchema(),
    task: taskSchema(),
    tasks: tasksSchema(),
  };
  const routes: RouteTable = [];
  for (const [name, doc] of Object.entries(schemas)) {
    routes.push({ path: `/v2/schemas/${name}`, methods: { GET: async (_req, reply) => sendJson(reply, 200, doc) } });
  }
  return routes;
}

export type { FastifyInstance };

/** A path answered the same way whatever the method (HEAD gets the headers only). */
export interface AnyMethodRoute {
  readonly path: string;
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/**
 * Whether the health check's caller may see the detailed view: a request that carries
 * credentials (a token, or identity headers in the header flavors) which authenticate as an
 * admin. Anything else, including credentials that fail, gets the plain view: the health check
 * itself stays anonymous and never answers 401.
 */
async function callerIsAdmin(deps: HttpDeps, request: FastifyRequest): Promise<boolean> {
  const hasCredentials = userToken(request.headers) !== undefined || IDENTITY_HEADERS.some((h) => request.headers[h] !== undefined);
  if (!hasCredentials) return false;
  try {
    return (await deps.authenticate(request)).isAdmin;
  } catch (err) {
    request.irisLog.info({ err: (err as Error).message }, 'health check: credentials not accepted; plain view');
    return false;
  }
}

/**
 * `/` (300) and `/versions` (200) answer the version list to every method, as Glance's version
 * negotiation does; `/v2` redirects every method to `/v2/`; `/healthcheck` answers every
 * method (see healthcheck.ts).
 */
export function anyMethodRoutes(deps: HttpDeps): AnyMethodRoute[] {
  const versions = (status: number) => async (req: FastifyRequest, reply: FastifyReply) =>
    sendJson(reply, status, versionsDocument(baseUrl(deps.config, req), { multiStore: deps.config.multi_store, cache: deps.config.DEFAULT.image_cache_dir !== null }));
  return [
    { path: '/', handler: versions(300) },
    { path: '/versions', handler: versions(200) },
    {
      path: '/v2',
      handler: async (req, reply) =>
        reply
          .code(302)
          .header('location', `${baseUrl(deps.config, req)}/v2/`)
          .header('content-type', 'text/plain; charset=utf8')
          .send(Buffer.alloc(0)),
    },
    {
      path: '/healthcheck',
      handler: async (req, reply) => {
        const detailed = deps.config.healthcheck.detailed && (await callerIsAdmin(deps, req));
        const results =
          deps.health === undefined
            ? [disableByFile(deps.config.healthcheck.disable_by_file_path)]
            : await (detailed ? deps.health.all() : deps.health.basic());
        const answer = healthcheckReply(req.method, req.headers.accept, results, detailed ? serverFacts() : null);
        reply.code(answer.status);
        // webob keeps Content-Length: 0 on its 204.
        if (answer.contentType === undefined) return reply.header('content-length', '0').send();
        return reply.header('content-type', answer.contentType).send(Buffer.from(answer.body));
      },
    },
  ];
}
