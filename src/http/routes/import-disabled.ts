/**
 * The import surface as Glance 25.1.0 answers it with no import method enabled and one store
 * (Iris's configuration at this stage): discovery says "no methods", staging is 404, import
 * requests are refused as unknown methods. (Image tasks: routes/tasks.ts.) The import work replaces
 * these with the real thing.
 */
import { Invalid, NotFound } from '../../domain/errors.js';
import { readJsonBody, sendJson, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

export function importDisabledRoutes(deps: HttpDeps): RouteTable {
  const noMultiStore = async () => {
    throw new NotFound('Multi backend is not supported at this site.');
  };
  return [
    {
      path: '/v2/info/import',
      methods: {
        GET: async (_req, reply) =>
          sendJson(reply, 200, {
            'import-methods': { description: 'Import methods available.', type: 'array', value: [] },
          }),
      },
    },
    { path: '/v2/info/stores', methods: { GET: noMultiStore } },
    { path: '/v2/info/stores/detail', methods: { GET: noMultiStore } },
    {
      path: '/v2/images/:id/stage',
      methods: {
        PUT: async () => {
          throw new NotFound("'glance-direct' method is not available at this site.");
        },
      },
    },
    {
      path: '/v2/images/:id/import',
      methods: {
        POST: async (req) => {
          deps.contextOf(req);
          const body = await readJsonBody(req);
          const method = (body as { method?: unknown } | null)?.method;
          if (typeof body !== 'object' || body === null || method === undefined) {
            throw new Invalid("Import request requires a 'method' field.");
          }
          const name = (method as { name?: unknown } | null)?.name;
          if (typeof method !== 'object' || method === null || name === undefined) {
            throw new Invalid("Import request requires a 'name' field.");
          }
          throw new Invalid(`Unknown import method name '${String(name)}'.`);
        },
      },
    },
  ];
}
