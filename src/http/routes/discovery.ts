/** Version discovery, JSON schemas and the health check. */
import type { FastifyInstance } from 'fastify';
import {
  imageSchema,
  imagesSchema,
  memberSchema,
  membersSchema,
  taskSchema,
  tasksSchema,
} from '../../domain/image-schemas.js';
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
  const routes: RouteTable = [
    {
      path: '/',
      methods: { GET: async (req, reply) => sendJson(reply, 300, versionsDocument(baseUrl(deps.config, req), { multiStore: deps.config.multi_store })) },
    },
    {
      path: '/versions',
      methods: { GET: async (req, reply) => sendJson(reply, 200, versionsDocument(baseUrl(deps.config, req), { multiStore: deps.config.multi_store })) },
    },
    {
      path: '/healthcheck',
      methods: {
        GET: async (_req, reply) => reply.code(200).header('content-type', 'text/plain; charset=UTF-8').send('OK'),
      },
    },
    {
      path: '/v2',
      methods: {
        GET: async (req, reply) =>
          reply
            .code(302)
            .header('location', `${baseUrl(deps.config, req)}/v2/`)
            .header('content-type', 'text/plain; charset=utf8')
            .send(Buffer.alloc(0)),
      },
    },
  ];
  for (const [name, doc] of Object.entries(schemas)) {
    routes.push({ path: `/v2/schemas/${name}`, methods: { GET: async (_req, reply) => sendJson(reply, 200, doc) } });
  }
  return routes;
}

export type { FastifyInstance };
