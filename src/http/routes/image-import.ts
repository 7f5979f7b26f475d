/**
 * The import surface: discovery (/v2/info/import, /v2/info/stores[/detail]), staging
 * (PUT /v2/images/{id}/stage), the import call (POST /v2/images/{id}/import) and per-store
 * deletes (DELETE /v2/stores/{store}/{id}). Thin: parse, call the service, render.
 */
import type { BackendConfig } from '../../config/config.js';
import { isReadOnlyStore, storeProperties } from '../../blob/store-registry.js';
import { Forbidden, NotFound, UnsupportedMediaType } from '../../domain/errors.js';
import { declaredLength } from '../body-abort.js';
import { offerSocketBody, socketBodyOptions } from '../socket-handover.js';
import { parseImportBody } from '../import-body.js';
import { mediaType, readJsonBody, sendJson, sendNoContent, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';
import { proxyToStageHost } from '../stage-host-proxy.js';

type IdParams = { id: string };
type StoreParams = { store: string; id: string };

export function imageImportRoutes(deps: HttpDeps): RouteTable {
  const { config } = deps;
  const methods = config.DEFAULT.enabled_import_methods;

  /** GET /v2/info/stores: ids, descriptions, and the default flagged as the string "true" (as Glance). */
  const storeOf = (b: BackendConfig) => ({
    id: b.id,
    ...(b.store_description !== null ? { description: b.store_description } : {}),
    ...(b.id === config.default_backend_id ? { default: 'true' } : {}),
    // Glance marks http stores, whose images can be read and never written.
    ...(isReadOnlyStore(b) ? { 'read-only': 'true' } : {}),
  });
  const storeList = () => config.backends.map(storeOf);
  const requireMultiStore = () => {
    if (!config.multi_store) throw new NotFound('Multi backend is not supported at this site.');
  };

  return [
    {
      path: '/v2/info/import',
      methods: {
        GET: async (_req, reply) =>
          sendJson(reply, 200, {
            'import-methods': { description: 'Import methods available.', type: 'array', value: [...methods] },
          }),
      },
    },
    {
      path: '/v2/info/stores',
      methods: {
        GET: async (_req, reply) => {
          requireMultiStore();
          return sendJson(reply, 200, { stores: storeList() });
        },
      },
    },
    {
      path: '/v2/info/stores/detail',
      methods: {
        GET: async (req, reply) => {
          requireMultiStore();
          // Glance's stores_info_detail rule (default role:admin).
          if (!deps.ruleAllows(deps.contextOf(req), 'stores_info_detail')) {
            throw new Forbidden('You are not authorized to complete stores_info_detail action.');
          }
          const stores = config.backends.map((b) => ({
            ...storeOf(b),
            type: b.type,
            properties: storeProperties(b),
          }));
          return sendJson(reply, 200, { stores });
        },
      },
    },
    {
      path: '/v2/images/:id/stage',
      methods: {
        PUT: async (req, reply) => {
          // Glance's order: method availability, then media type, then the image.
          if (!methods.includes('glance-direct')) {
            throw new NotFound("'glance-direct' method is not available at this site.");
          }
          if (mediaType(req) !== 'application/octet-stream') {
            throw new UnsupportedMediaType(req.headers['content-type'] ?? 'None');
          }
          const ctx = deps.contextOf(req);
          const { id } = req.params as IdParams;
          const contentLength = declaredLength(req.headers['content-length']);
          if (deps.config.direct_transfers) offerSocketBody(req.raw, reply.raw, socketBodyOptions(deps.config));
          await deps.bodies.withBodyStream(req.raw, () => void reply.header('connection', 'close'), (signal) =>
            deps.imports.stage(ctx, id, req.raw, { contentLength, signal }),
          );
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/images/:id/import',
      methods: {
        POST: async (req, reply) => {
          const ctx = deps.contextOf(req);
          const { id } = req.params as IdParams;
          const header = req.headers['x-image-meta-store'];
          const body = await readJsonBody(deps.bodies, req);
          const call = parseImportBody(body, methods, typeof header === 'string' ? header : undefined);
          const decision = await deps.imports.importImage(ctx, id, call);
          // Staged on another node: that node runs the import (Glance's stage-host proxy).
          if (decision.stageHost !== undefined) return proxyToStageHost(req, reply, decision.stageHost, body);
          return reply.code(202).header('content-type', 'text/html; charset=UTF-8').send();
        },
      },
    },
    {
      path: '/v2/stores/:store/:id',
      methods: {
        DELETE: async (req, reply) => {
          const { store, id } = req.params as StoreParams;
          await deps.images.deleteFromStore(deps.contextOf(req), store, id);
          return sendNoContent(reply);
        },
      },
    },
  ];
}
