/** /v2/images/{id}/locations (API v2.17): add a location to a queued image (202), list them. Thin. */
import { readJsonBody, sendJson, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

type IdParams = { id: string };

export function imageLocationRoutes(deps: HttpDeps): RouteTable {
  return [
    {
      path: '/v2/images/:id/locations',
      methods: {
        GET: async (req, reply) => {
          const { id } = req.params as IdParams;
          return sendJson(reply, 200, await deps.locations.list(deps.contextOf(req), id));
        },
        POST: async (req, reply) => {
          const { id } = req.params as IdParams;
          await deps.locations.add(deps.contextOf(req), id, await readJsonBody(deps.bodies, req));
          // Upstream answers 202 with an empty body, as the import call.
          return reply.code(202).header('content-type', 'text/html; charset=UTF-8').send();
        },
      },
    },
  ];
}
