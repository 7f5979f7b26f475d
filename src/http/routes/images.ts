/** /v2/images: create, list, show, update, delete, tags and actions. Thin: parse, call, render. */
import { UnsupportedMediaType } from '../../domain/errors.js';
import { parseListRequest } from '../image-list-query.js';
import { imageView } from '../image-view.js';
import { ACCEPT_PATCH, patchDialectOf } from '../patch-media-type.js';
import { baseUrl, queryPairs, readJsonBody, sendJson, sendNoContent, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';
import { HttpFault } from '../faults.js';
import { replayOnStageHost } from '../stage-host-proxy.js';

type IdParams = { id: string };
type TagParams = { id: string; tag: string };

/** urlencode as Python's: the characters quote_plus keeps, `+` for spaces. */
function pyUrlencode(pairs: [string, string][]): string {
  const enc = (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

export function imageRoutes(deps: HttpDeps): RouteTable {
  const baseViewOpts = {
    showDirectUrl: deps.config.DEFAULT.show_image_direct_url,
    showLocations: deps.config.DEFAULT.show_multiple_locations,
    multiStore: deps.config.multi_store,
  };
  const viewOpts = (ctx: { readonly isAdmin: boolean }) => ({ ...baseViewOpts, callerIsAdmin: ctx.isAdmin });
  const importMethods = deps.config.DEFAULT.enabled_import_methods.join(',');
  const storeIds = deps.config.multi_store ? deps.config.backends.map((b) => b.id).join(',') : '';
  const { images } = deps;

  return [
    {
      path: '/v2/images',
      methods: {
        GET: async (req, reply) => {
          const ctx = deps.contextOf(req);
          const pairs = queryPairs(req);
          const result = await images.list(ctx, parseListRequest(pairs));
          // Links as Glance builds them: dict(params) keeps each key once (last value wins).
          const params = new Map<string, string>();
          for (const [k, v] of pairs) if (k !== 'marker') params.set(k, v);
          const query = pyUrlencode([...params]);
          const body: Record<string, unknown> = {
            images: result.images.map((i) => imageView(i, viewOpts(ctx))),
            first: query ? `/v2/images?${query}` : '/v2/images',
            schema: '/v2/schemas/images',
          };
          if (result.nextMarker) {
            params.set('marker', result.nextMarker);
            body.next = `/v2/images?${pyUrlencode([...params])}`;
          }
          return sendJson(reply, 200, body);
        },
        POST: async (req, reply) => {
          const ctx = deps.contextOf(req);
          // Glance ignores the request Content-Type on create (text/plain works).
          const image = await images.create(ctx, await readJsonBody(deps.bodies, req));
          reply.header('location', `${baseUrl(deps.config, req)}/v2/images/${image.id}`);
          // Clients (openstack image create --import) discover the import setup from these.
          if (importMethods !== '') reply.header('openstack-image-import-methods', importMethods);
          if (storeIds !== '') reply.header('openstack-image-store-ids', storeIds);
          return sendJson(reply, 201, imageView(image, viewOpts(ctx)));
        },
      },
    },
    {
      path: '/v2/images/:id',
      methods: {
        GET: async (req, reply) => {
          const { id } = req.params as IdParams;
          const ctx = deps.contextOf(req);
          return sendJson(reply, 200, imageView(await images.show(ctx, id), viewOpts(ctx)));
        },
        PATCH: async (req, reply) => {
          const { id } = req.params as IdParams;
          const ctx = deps.contextOf(req);
          const dialect = patchDialectOf(req.headers['content-type']);
          if (dialect === undefined) {
            reply.header('accept-patch', ACCEPT_PATCH);
            throw new UnsupportedMediaType(req.headers['content-type'] ?? 'None');
          }
          const image = await images.update(ctx, id, dialect, await readJsonBody(deps.bodies, req));
          return sendJson(reply, 200, imageView(image, viewOpts(ctx)));
        },
        DELETE: async (req, reply) => {
          const { id } = req.params as IdParams;
          const ctx = deps.contextOf(req);
          const { stageHost } = await images.delete(ctx, id);
          if (stageHost !== undefined) {
            // Staged on another node: that node deletes it (and its staged bytes). When it
            // fails on its side (5xx, or unreachable), delete here as Glance does.
            try {
              await replayOnStageHost(req, reply, stageHost);
            } catch (e) {
              if (!(e instanceof HttpFault) || e.fault.status < 500) throw e;
              req.log.warn({ err: e, image: id, stageHost }, 'stage host could not delete the image; deleting it here, its staged data stays there');
              await images.delete(ctx, id, { local: true });
            }
          }
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/images/:id/tags/:tag',
      methods: {
        PUT: async (req, reply) => {
          const { id, tag } = req.params as TagParams;
          await images.addTag(deps.contextOf(req), id, tag);
          return sendNoContent(reply);
        },
        DELETE: async (req, reply) => {
          const { id, tag } = req.params as TagParams;
          await images.deleteTag(deps.contextOf(req), id, tag);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/images/:id/actions/deactivate',
      methods: {
        POST: async (req, reply) => {
          await images.deactivate(deps.contextOf(req), (req.params as IdParams).id);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/images/:id/actions/reactivate',
      methods: {
        POST: async (req, reply) => {
          await images.reactivate(deps.contextOf(req), (req.params as IdParams).id);
          return sendNoContent(reply);
        },
      },
    },
  ];
}
