/**
 * /v2/metadefs/* and /v2/schemas/metadefs/*: the metadata definitions catalog. Thin: parse
 * the path, query and body, call the metadef service, render as Glance does.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { prefixFor } from '../../domain/metadef.js';
import { METADEF_SCHEMAS } from '../../domain/metadef-schemas.js';
import type { MetadefService } from '../../services/metadefs.js';
import { baseUrl, queryPairs, readJsonBody, sendJson, sendNoContent, type HttpDeps } from '../http-context.js';
import {
  associationView,
  createdNamespaceView,
  namespaceDetailView,
  namespaceView,
  objectView,
  propertyView,
  resourceTypeView,
  tagView,
  urlencode,
} from '../metadef-view.js';
import type { RouteTable } from '../route-table.js';

type Ns = { namespace: string };
type Named = { namespace: string; name: string };

const NS_PATH = '/v2/metadefs/namespaces';

/** webob's `dict(request.params)`: one value per key (the last), keys in first-seen order. */
function lastValues(request: FastifyRequest): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of queryPairs(request)) params.set(k, v);
  return params;
}

/** oslo's bool_from_string, as Glance reads X-Openstack-Append. */
function truthy(value: string | string[] | undefined): boolean {
  const v = (Array.isArray(value) ? value[0] : value)?.trim().toLowerCase();
  return v !== undefined && ['1', 't', 'true', 'on', 'y', 'yes'].includes(v);
}

export function metadefRoutes(deps: HttpDeps & { readonly metadefs: MetadefService }): RouteTable {
  const { metadefs } = deps;
  const ctx = (req: FastifyRequest) => deps.contextOf(req);

  return [
    {
      path: NS_PATH,
      methods: {
        GET: async (req, reply) => {
          const params = lastValues(req);
          const page = await metadefs.listNamespaces(ctx(req), {
            limit: params.get('limit'),
            marker: params.get('marker'),
            sortKey: params.get('sort_key'),
            sortDir: params.get('sort_dir'),
            visibility: params.get('visibility'),
            resourceTypes: params.get('resource_types'),
          });
          params.delete('marker');
          const query = urlencode([...params]);
          const body: Record<string, unknown> = {
            namespaces: page.namespaces.map(({ namespace, associations }) =>
              namespaceView(namespace, { resource_type_associations: associations.length === 0 ? undefined : associations.map(associationView) }),
            ),
          };
          if (page.next !== null) body.next = `${NS_PATH}?${urlencode([...params, ['marker', page.next]])}`;
          body.schema = '/v2/schemas/metadefs/namespaces';
          body.first = query === '' ? NS_PATH : `${NS_PATH}?${query}`;
          return sendJson(reply, 200, body);
        },
        POST: async (req, reply) => {
          const created = await metadefs.createNamespace(ctx(req), await readJsonBody(deps.bodies, req));
          reply.header('location', `${baseUrl(deps.config, req)}${NS_PATH}/${created.namespace.namespace}`);
          return sendJson(reply, 201, createdNamespaceView(created.namespace, created.body));
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace`,
      methods: {
        GET: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const detail = await metadefs.showNamespace(ctx(req), namespace);
          const prefix = prefixFor(detail.associations, lastValues(req).get('resource_type'));
          return sendJson(reply, 200, namespaceDetailView(detail, prefix));
        },
        PUT: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const body = await readJsonBody(deps.bodies, req);
          return sendJson(reply, 200, namespaceView(await metadefs.updateNamespace(ctx(req), namespace, body)));
        },
        DELETE: async (req, reply) => {
          const { namespace } = req.params as Ns;
          await metadefs.deleteNamespace(ctx(req), namespace);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/objects`,
      methods: {
        GET: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const objects = await metadefs.listObjects(ctx(req), namespace);
          // Glance's own link, without the leading slash.
          return sendJson(reply, 200, { objects: objects.map((o) => objectView(o, namespace)), schema: 'v2/schemas/metadefs/objects' });
        },
        POST: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const created = await metadefs.createObject(ctx(req), namespace, await readJsonBody(deps.bodies, req));
          return sendJson(reply, 201, objectView(created, namespace));
        },
        DELETE: async (req, reply) => {
          const { namespace } = req.params as Ns;
          await metadefs.deleteContents(ctx(req), namespace, 'objects');
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/objects/:name`,
      methods: {
        GET: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          return sendJson(reply, 200, objectView(await metadefs.showObject(ctx(req), namespace, name), namespace));
        },
        PUT: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          const body = await readJsonBody(deps.bodies, req);
          return sendJson(reply, 200, objectView(await metadefs.updateObject(ctx(req), namespace, name, body), namespace));
        },
        DELETE: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          await metadefs.deleteObject(ctx(req), namespace, name);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/properties`,
      methods: {
        GET: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const properties = await metadefs.listProperties(ctx(req), namespace);
          return sendJson(reply, 200, { properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, propertyView(v)])) });
        },
        POST: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const created = await metadefs.createProperty(ctx(req), namespace, await readJsonBody(deps.bodies, req));
          return sendJson(reply, 201, propertyView(created));
        },
        DELETE: async (req, reply) => {
          const { namespace } = req.params as Ns;
          await metadefs.deleteContents(ctx(req), namespace, 'properties');
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/properties/:name`,
      methods: {
        GET: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          const property = await metadefs.showProperty(ctx(req), namespace, name, lastValues(req).get('resource_type'));
          return sendJson(reply, 200, propertyView(property));
        },
        PUT: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          const body = await readJsonBody(deps.bodies, req);
          return sendJson(reply, 200, propertyView(await metadefs.updateProperty(ctx(req), namespace, name, body)));
        },
        DELETE: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          await metadefs.deleteProperty(ctx(req), namespace, name);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/tags`,
      methods: {
        GET: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const params = lastValues(req);
          const tags = await metadefs.listTags(ctx(req), namespace, {
            limit: params.get('limit'),
            marker: params.get('marker'),
            sortKey: params.get('sort_key'),
            sortDir: params.get('sort_dir'),
          });
          return sendJson(reply, 200, { tags: tags.map((t) => ({ name: t.name })) });
        },
        POST: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const body = await readJsonBody(deps.bodies, req);
          const names = await metadefs.createTags(ctx(req), namespace, body, truthy(req.headers['x-openstack-append']));
          return sendJson(reply, 201, { tags: names.map((name) => ({ name })) });
        },
        DELETE: async (req, reply) => {
          const { namespace } = req.params as Ns;
          await metadefs.deleteContents(ctx(req), namespace, 'tags');
          return sendNoContent(reply);
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/tags/:name`,
      methods: {
        GET: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          return sendJson(reply, 200, tagView(await metadefs.showTag(ctx(req), namespace, name)));
        },
        POST: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          return sendJson(reply, 201, tagView(await metadefs.createTag(ctx(req), namespace, name)));
        },
        PUT: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          const body = await readJsonBody(deps.bodies, req);
          return sendJson(reply, 200, tagView(await metadefs.updateTag(ctx(req), namespace, name, body)));
        },
        DELETE: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          await metadefs.deleteTag(ctx(req), namespace, name);
          return sendNoContent(reply);
        },
      },
    },
    {
      path: '/v2/metadefs/resource_types',
      methods: {
        GET: async (req, reply) => sendJson(reply, 200, { resource_types: (await metadefs.listResourceTypes(ctx(req))).map(resourceTypeView) }),
      },
    },
    {
      path: `${NS_PATH}/:namespace/resource_types`,
      methods: {
        GET: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const associations = await metadefs.listAssociations(ctx(req), namespace);
          return sendJson(reply, 200, { resource_type_associations: associations.map(associationView) });
        },
        POST: async (req, reply) => {
          const { namespace } = req.params as Ns;
          const created = await metadefs.createAssociation(ctx(req), namespace, await readJsonBody(deps.bodies, req));
          return sendJson(reply, 201, associationView(created));
        },
      },
    },
    {
      path: `${NS_PATH}/:namespace/resource_types/:name`,
      methods: {
        DELETE: async (req, reply) => {
          const { namespace, name } = req.params as Named;
          await metadefs.deleteAssociation(ctx(req), namespace, name);
          return sendNoContent(reply);
        },
      },
    },
    // One static route per document, as Glance's router has them.
    ...Object.entries(METADEF_SCHEMAS).map(([name, schema]) => ({
      path: `/v2/schemas/metadefs/${name}`,
      methods: { GET: async (_req: FastifyRequest, reply: FastifyReply) => sendJson(reply, 200, schema()) },
    })),
  ];
}
