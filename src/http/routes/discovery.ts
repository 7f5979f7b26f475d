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
import { healthcheckReply } from '../healthcheck.js';
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
        const answer = healthcheckReply(req.method, req.headers.accept, deps.config.healthcheck.disable_by_file_path);
        reply.code(answer.status);
        // webob keeps Content-Length: 0 on its 204.
        if (answer.contentType === undefined) return reply.header('content-length', '0').send();
        return reply.header('content-type', answer.contentType).send(Buffer.from(answer.body));
      },
    },
  ];
}
