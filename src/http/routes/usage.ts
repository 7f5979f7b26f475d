/** GET /v2/info/usage (API v2.13): the caller's quota usage, from the quota service. */
import { sendJson, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

export function usageRoutes(deps: HttpDeps): RouteTable {
  return [
    {
      path: '/v2/info/usage',
      // Glance routes only GET here (no method-rejecting resource): anything else is 404.
      otherMethodsNotFound: true,
      methods: {
        // Glance 25.1.0 checks no policy rule here; without Keystone limits the usage is empty.
        GET: async (req, reply) => sendJson(reply, 200, { usage: await deps.quotas.usage(deps.contextOf(req)) }),
      },
    },
  ];
}
