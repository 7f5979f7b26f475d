/**
 * Metadata definitions use cases, in the order of Glance 25.1.0's controllers
 * (glance/api/v2/metadef_{namespaces,objects,properties,tags,resource_types}.py), whose
 * messages each step's errors carry: the namespace is looked up first (hidden = 404 in the
 * wording of that controller), then the rule is checked, then the item is looked up.
 * Request bodies arrive parsed; their validation against Glance's schemas happens here,
 * through `metadef-requests.ts`. Notifications are Glance's `metadef_*` events.
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import {
  checkDeletable,
  namespaceScope,
  namespaceVisibleTo,
  prefixFor,
  storedPropertyType,
  type JsonMap,
  type MetadefNamespace,
  type MetadefObject,
  type MetadefProperty,
  type MetadefTag,
  type NamespaceFields,
  type ResourceType,
  type ResourceTypeAssociation,
} from '../domain/metadef.js';
import type { MetadefPolicy, MetadefRepository } from '../domain/metadef-ports.js';
import {
  parseAssociationBody,
  parseNamespaceBody,
  parseObjectBody,
  parsePropertyBody,
  parseTagBody,
  parseTagListBody,
  parseTagName,
  type NamespaceBody,
} from '../domain/metadef-requests.js';
import type { Clock, Notifier } from '../domain/ports.js';
import {
  namespacePayload,
  objectPayload,
  propertyPayload,
  resourceTypePayload,
  tagPayload,
} from './metadef-notifications.js';

export interface MetadefServiceDeps {
  readonly repo: MetadefRepository;
  readonly policy: MetadefPolicy;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly limits: { readonly limitParamDefault: number; readonly apiLimitMax: number };
}

/** A namespace with what GET …/namespaces/{ns} shows of its contents. */
export interface NamespaceDetail {
  readonly namespace: MetadefNamespace;
  readonly associations: readonly ResourceTypeAssociation[];
  readonly objects: readonly MetadefObject[];
  /** Property name → definition (normalised). */
  readonly properties: Readonly<Record<string, JsonMap>>;
  readonly tags: readonly MetadefTag[];
}

/** What POST …/namespaces answers: the namespace and the contents as requested. */
export interface CreatedNamespace {
  readonly namespace: MetadefNamespace;
  readonly body: NamespaceBody;
}

export interface NamespaceListQuery {
  readonly limit?: string;
  readonly marker?: string;
  readonly sortKey?: string;
  readonly sortDir?: string;
  readonly visibility?: string;
  readonly resourceTypes?: string;
}

export interface NamespacePage {
  readonly namespaces: readonly { readonly namespace: MetadefNamespace; readonly associations: readonly ResourceTypeAssociation[] }[];
  /** The name to continue after, when the page is full. */
  readonly next: string | null;
}

export interface TagListQuery {
  readonly limit?: string;
  readonly marker?: string;
  readonly sortKey?: string;
  readonly sortDir?: string;
}

const NAMESPACE_SORT_KEYS = ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at', 'id'];
const TAG_SORT_KEYS = ['name', 'created_at', 'updated_at', 'id'];

/** Which of Glance's wordings a lookup answers a missing or hidden namespace with. */
type Wording = 'show' | 'objects' | 'short';

export type MetadefService = ReturnType<typeof createMetadefService>;

export function createMetadefService(deps: MetadefServiceDeps) {
  const { repo, policy, clock, notifier } = deps;

  async function findNamespace(ctx: RequestContext, name: string, wording: Wording): Promise<MetadefNamespace> {
    const ns = await repo.getNamespace(name);
    const short = `Namespace ${name} not found`;
    if (ns === null) throw new NotFound(wording === 'short' ? short : `Metadata definition namespace=${name} was not found.`);
    if (!namespaceVisibleTo(ctx, ns)) throw new NotFound(wording === 'show' ? 'The resource could not be found.' : short);
    return ns;
  }

  async function findObject(ns: MetadefNamespace, name: string): Promise<MetadefObject> {
    const found = await repo.getObject(ns, name);
    if (found === null) throw new NotFound(`Could not find metadata object ${name}`);
    return normalisedObject(found);
  }

  async function findProperty(ns: MetadefNamespace, name: string): Promise<MetadefProperty> {
    const found = await repo.getProperty(ns, name);
    if (found === null) throw new NotFound(`Could not find property ${name}`);
    return found;
  }

  async function findTag(ns: MetadefNamespace, name: string): Promise<MetadefTag> {
    const found = await repo.getTag(ns, name);
    if (found === null) throw new NotFound(`Could not find metadata tag ${name}`);
    return found;
  }

  function fieldsOf(ctx: RequestContext, body: NamespaceBody): NamespaceFields {
    // Glance's defaults for what the body leaves out, on create and on update alike.
    return {
      namespace: body.namespace,
      display_name: body.display_name ?? null,
      description: body.description ?? null,
      visibility: body.visibility ?? 'private',
      protected: body.protected ?? false,
      owner: body.owner ?? ctx.projectId ?? '',
    };
  }

  function emitNamespace(type: string, ns: MetadefNamespace, extra: Record<string, unknown> = {}): void {
    notifier.emit(type, { ...namespacePayload(ns), ...extra });
  }

  function deletedNow(): Record<string, unknown> {
    return { deleted: true, deleted_at: isoNow(clock.now()) };
  }

  return {
    // ------------------------------------------------------------ namespaces --

    /** GET /v2/metadefs/namespaces. @throws Invalid (query), NotFound/Forbidden (marker). */
    async listNamespaces(ctx: RequestContext, query: NamespaceListQuery): Promise<NamespacePage> {
      const limit = pageLimit(query.limit, deps.limits);
      const sortDir = sortDirection(query.sortDir);
      const sortKey = query.sortKey ?? 'created_at';
      if (!NAMESPACE_SORT_KEYS.includes(sortKey)) throw new Invalid(`Invalid sort key: ${sortKey}`);
      if (query.visibility !== undefined && query.visibility !== '' && query.visibility !== 'public' && query.visibility !== 'private') {
        throw new Invalid(`Invalid visibility value: ${query.visibility}`);
      }
      policy.enforce(ctx, 'get_metadef_namespaces');
      policy.enforce(ctx, 'list_metadef_resource_types');
      let marker: MetadefNamespace | undefined;
      if (query.marker !== undefined && query.marker !== '') {
        const found = await repo.getNamespace(query.marker);
        if (found === null) throw new NotFound(`Metadata definition namespace=${query.marker} was not found.`);
        // Glance answers 403 here with its database layer's message (not the usual 404).
        if (!namespaceVisibleTo(ctx, found)) throw new Forbidden(`Forbidding request, metadata definition namespace=${query.marker} is not visible.`);
        marker = found;
      }
      const all = await repo.listNamespaces({
        scope: namespaceScope(ctx),
        visibility: query.visibility || undefined,
        resourceTypes: query.resourceTypes === undefined ? undefined : query.resourceTypes.split(','),
      });
      const keys = [sortKey, ...['created_at', 'id'].filter((k) => k !== sortKey)];
      const compare = (a: MetadefNamespace, b: MetadefNamespace) => compareBy(keys, sortDir, namespaceKey)(a, b);
      let page = [...all].sort(compare);
      if (marker !== undefined) page = page.filter((ns) => compare(ns, marker) > 0);
      if (limit !== null) page = page.slice(0, limit);
      const visible = page.filter((ns) => policy.check(ctx, 'get_metadef_namespace', ns));
      const namespaces = [];
      for (const ns of visible) namespaces.push({ namespace: ns, associations: await repo.listAssociations(ns) });
      const next = namespaces.length !== 0 && namespaces.length === limit ? namespaces.at(-1)!.namespace.namespace : null;
      return { namespaces, next };
    },

    /**
     * POST /v2/metadefs/namespaces, with its resource type associations, objects, properties
     * and tags. @throws Forbidden, Invalid, Conflict.
     */
    async createNamespace(ctx: RequestContext, rawBody: unknown): Promise<CreatedNamespace> {
      const body = parseNamespaceBody(rawBody);
      policy.enforce(ctx, 'add_metadef_namespace');
      if (body.resource_type_associations?.length) policy.enforce(ctx, 'add_metadef_resource_type_association');
      if (body.objects?.length) policy.enforce(ctx, 'add_metadef_object');
      if (body.properties !== undefined && body.properties !== null && Object.keys(body.properties).length > 0) {
        policy.enforce(ctx, 'add_metadef_property');
      }
      if (body.tags?.length) policy.enforce(ctx, 'add_metadef_tag');
      const now = clock.now();
      const ns = await repo.addNamespace(fieldsOf(ctx, body), now, {
        associations: body.resource_type_associations ?? [],
        objects: (body.objects ?? []).map((o) => ({
          name: o.name,
          description: o.description ?? null,
          required: o.required ?? null,
          properties: o.properties ?? null,
        })),
        properties: body.properties ?? {},
        tags: (body.tags ?? []).map((t) => t.name),
      });
      emitNamespace('metadef_namespace.create', ns);
      for (const a of body.resource_type_associations ?? []) {
        notifier.emit('metadef_resource_type.create', resourceTypePayload(ns.namespace, { ...a, created_at: now, updated_at: now }));
      }
      return { namespace: ns, body };
    },

    /** GET /v2/metadefs/namespaces/{ns}[?resource_type=X]. @throws NotFound, Forbidden. */
    async showNamespace(ctx: RequestContext, name: string): Promise<NamespaceDetail> {
      const ns = await findNamespace(ctx, name, 'show');
      policy.enforce(ctx, 'get_metadef_namespace', ns);
      for (const rule of ['list_metadef_resource_types', 'get_metadef_objects', 'get_metadef_properties', 'get_metadef_tags'] as const) {
        policy.enforce(ctx, rule, ns);
      }
      const [objects, associations, properties, tags] = await Promise.all([
        repo.listObjects(ns).then((list) => list.map(normalisedObject)),
        repo.listAssociations(ns),
        repo.listProperties(ns),
        repo.listTags(ns),
      ]);
      return {
        namespace: ns,
        associations,
        objects,
        properties: Object.fromEntries(properties.map((p) => [p.name, storedPropertyType(p.schema)])),
        tags,
      };
    },

    /** PUT /v2/metadefs/namespaces/{ns}: replaces the namespace's own fields. */
    async updateNamespace(ctx: RequestContext, name: string, rawBody: unknown): Promise<MetadefNamespace> {
      const body = parseNamespaceBody(rawBody);
      const ns = await findNamespace(ctx, name, 'short');
      policy.enforce(ctx, 'modify_metadef_namespace', ns);
      const saved = await repo.saveNamespace(ns, fieldsOf(ctx, body), clock.now());
      emitNamespace('metadef_namespace.update', saved, { namespace_old: ns.namespace });
      return saved;
    },

    /** DELETE /v2/metadefs/namespaces/{ns}: the namespace and everything in it, unless protected. */
    async deleteNamespace(ctx: RequestContext, name: string): Promise<void> {
      const ns = await findNamespace(ctx, name, 'short');
      policy.enforce(ctx, 'delete_metadef_namespace', ns);
      checkDeletable(ns, 'namespace', ns.namespace);
      await repo.removeNamespace(ns);
      emitNamespace('metadef_namespace.delete', ns, deletedNow());
    },

    /** DELETE …/{ns}/objects, …/properties, …/tags: a namespace's contents of one kind. */
    async deleteContents(ctx: RequestContext, name: string, kind: 'objects' | 'properties' | 'tags'): Promise<void> {
      const ns = await findNamespace(ctx, name, 'short');
      policy.enforce(ctx, 'delete_metadef_namespace', ns);
      if (kind === 'tags') policy.enforce(ctx, 'delete_metadef_tags', ns);
      // Glance asks the namespace itself whether it may be deleted (so its message).
      checkDeletable(ns, 'namespace', ns.namespace);
      if (kind === 'objects') await repo.removeObjects(ns);
      else if (kind === 'properties') await repo.removeProperties(ns);
      else await repo.removeTags(ns);
      emitNamespace(`metadef_namespace.delete_${kind}`, ns);
    },

    // --------------------------------------------------------------- objects --

    async listObjects(ctx: RequestContext, nsName: string): Promise<MetadefObject[]> {
      const ns = await findNamespace(ctx, nsName, 'objects');
      policy.enforce(ctx, 'get_metadef_objects', ns);
      const objects = (await repo.listObjects(ns)).map(normalisedObject);
      return policy.check(ctx, 'get_metadef_object', ns) ? objects : [];
    },

    async createObject(ctx: RequestContext, nsName: string, rawBody: unknown): Promise<MetadefObject> {
      const body = parseObjectBody(rawBody, true);
      const ns = await findNamespace(ctx, nsName, 'objects');
      policy.enforce(ctx, 'add_metadef_object', ns);
      const created = await repo.addObject(ns, body, clock.now());
      notifier.emit('metadef_object.create', objectPayload(ns.namespace, created));
      // Glance answers with what was asked: no `required` or `properties` when none were given.
      return { ...created, required: body.required, properties: body.properties };
    },

    async showObject(ctx: RequestContext, nsName: string, name: string): Promise<MetadefObject> {
      const ns = await findNamespace(ctx, nsName, 'objects');
      policy.enforce(ctx, 'get_metadef_object', ns);
      return findObject(ns, name);
    },

    async updateObject(ctx: RequestContext, nsName: string, name: string, rawBody: unknown): Promise<MetadefObject> {
      const body = parseObjectBody(rawBody, false);
      const ns = await findNamespace(ctx, nsName, 'objects');
      policy.enforce(ctx, 'modify_metadef_object', ns);
      const object = await findObject(ns, name);
      const saved = normalisedObject(await repo.saveObject(ns, object, body, clock.now()));
      notifier.emit('metadef_object.update', { ...objectPayload(ns.namespace, saved), name_old: object.name });
      // As on create, Glance answers with what was asked: what the body left out is absent.
      return { ...saved, required: body.required, properties: body.properties };
    },

    async deleteObject(ctx: RequestContext, nsName: string, name: string): Promise<void> {
      const ns = await findNamespace(ctx, nsName, 'objects');
      policy.enforce(ctx, 'delete_metadef_object', ns);
      const object = await findObject(ns, name);
      checkDeletable(ns, 'object', object.name);
      await repo.removeObject(object);
      notifier.emit('metadef_object.delete', { ...objectPayload(ns.namespace, object), ...deletedNow() });
    },

    // ------------------------------------------------------------ properties --

    async listProperties(ctx: RequestContext, nsName: string): Promise<Record<string, JsonMap>> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'get_metadef_properties', ns);
      return Object.fromEntries((await repo.listProperties(ns)).map((p) => [p.name, storedPropertyType(p.schema)]));
    },

    /** GET …/properties/{name}[?resource_type=X] (then `name` carries the association's prefix). */
    async showProperty(ctx: RequestContext, nsName: string, name: string, resourceType?: string): Promise<JsonMap> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'get_metadef_property', ns);
      let bare = name;
      if (resourceType !== undefined && resourceType !== '') {
        policy.enforce(ctx, 'get_metadef_resource_type', ns);
        const associations = await repo.listAssociations(ns);
        if (!associations.some((a) => a.name === resourceType)) {
          const types = await repo.listResourceTypes();
          if (!types.some((t) => t.name === resourceType)) {
            throw new NotFound(`The metadata definition resource-type with name=${resourceType}, was not found.`);
          }
          throw new NotFound(`The metadata definition resource-type association of resource-type=${resourceType} to namespace=${nsName}, was not found.`);
        }
        const prefix = prefixFor(associations, resourceType);
        if (prefix === null || !name.startsWith(prefix)) {
          throw new NotFound(`Property ${name} does not start with the expected resource type association prefix of '${prefix ?? 'None'}'.`);
        }
        bare = name.slice(prefix.length);
      }
      const property = await findProperty(ns, bare);
      return { ...storedPropertyType(property.schema), name: property.name };
    },

    async createProperty(ctx: RequestContext, nsName: string, rawBody: unknown): Promise<JsonMap> {
      const definition = parsePropertyBody(rawBody);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'add_metadef_property', ns);
      const created = await repo.addProperty(ns, String(definition.name), definition, clock.now());
      notifier.emit('metadef_property.create', propertyPayload(ns.namespace, created));
      return { ...storedPropertyType(created.schema), name: created.name };
    },

    async updateProperty(ctx: RequestContext, nsName: string, name: string, rawBody: unknown): Promise<JsonMap> {
      const definition = parsePropertyBody(rawBody);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'modify_metadef_property', ns);
      const property = await findProperty(ns, name);
      const saved = await repo.saveProperty(ns, property, String(definition.name), definition, clock.now());
      notifier.emit('metadef_property.update', { ...propertyPayload(ns.namespace, saved), name_old: property.name });
      return { ...storedPropertyType(saved.schema), name: saved.name };
    },

    async deleteProperty(ctx: RequestContext, nsName: string, name: string): Promise<void> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'remove_metadef_property', ns);
      const property = await findProperty(ns, name);
      checkDeletable(ns, 'property', property.name);
      await repo.removeProperty(property);
      notifier.emit('metadef_property.delete', { ...propertyPayload(ns.namespace, property), ...deletedNow() });
    },

    // ------------------------------------------------------------------ tags --

    async listTags(ctx: RequestContext, nsName: string, query: TagListQuery): Promise<MetadefTag[]> {
      const sortDir = sortDirection(query.sortDir);
      const limit = pageLimit(query.limit, null);
      const sortKey = query.sortKey ?? 'created_at';
      if (!TAG_SORT_KEYS.includes(sortKey)) throw new Invalid(`Invalid sort key: ${sortKey}`);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'get_metadef_tags', ns);
      const keys = [sortKey, ...['created_at', 'id'].filter((k) => k !== sortKey)];
      const compare = compareBy(keys, sortDir, (t: MetadefTag, k) => (k === 'name' ? t.name : k === 'id' ? t.id : k === 'updated_at' ? t.updated_at : t.created_at));
      let tags = (await repo.listTags(ns)).sort(compare);
      if (query.marker) {
        const marker = await findTag(ns, query.marker);
        tags = tags.filter((t) => compare(t, marker) > 0);
      }
      return limit === null ? tags : tags.slice(0, limit);
    },

    async createTag(ctx: RequestContext, nsName: string, name: string): Promise<MetadefTag> {
      const ns = await findNamespace(ctx, nsName, 'short');
      parseTagName(name);
      policy.enforce(ctx, 'add_metadef_tag', ns);
      const tag = await repo.addTag(ns, name, clock.now());
      notifier.emit('metadef_tag.create', tagPayload(ns.namespace, tag));
      return tag;
    },

    /** POST …/tags: `append` (X-Openstack-Append) keeps the namespace's tags, else they are replaced. */
    async createTags(ctx: RequestContext, nsName: string, rawBody: unknown, append: boolean): Promise<string[]> {
      const names = parseTagListBody(rawBody);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'add_metadef_tags', ns);
      // Glance writes nothing, not even the replacement's delete, for an empty list.
      if (names.length > 0) {
        const tags = await repo.addTags(ns, names, append, clock.now());
        for (const tag of tags) notifier.emit('metadef_tag.create', tagPayload(ns.namespace, tag));
      }
      return names;
    },

    async showTag(ctx: RequestContext, nsName: string, name: string): Promise<MetadefTag> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'get_metadef_tag', ns);
      return findTag(ns, name);
    },

    async updateTag(ctx: RequestContext, nsName: string, name: string, rawBody: unknown): Promise<MetadefTag> {
      const newName = parseTagBody(rawBody);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'modify_metadef_tag', ns);
      const tag = await findTag(ns, name);
      const saved = await repo.saveTag(ns, tag, newName, clock.now());
      notifier.emit('metadef_tag.update', { ...tagPayload(ns.namespace, saved), name_old: tag.name });
      return saved;
    },

    async deleteTag(ctx: RequestContext, nsName: string, name: string): Promise<void> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'delete_metadef_tag', ns);
      const tag = await findTag(ns, name);
      checkDeletable(ns, 'tag', tag.name);
      await repo.removeTag(tag);
      notifier.emit('metadef_tag.delete', { ...tagPayload(ns.namespace, tag), ...deletedNow() });
    },

    // -------------------------------------------------------- resource types --

    async listResourceTypes(ctx: RequestContext): Promise<ResourceType[]> {
      policy.enforce(ctx, 'list_metadef_resource_types');
      return repo.listResourceTypes();
    },

    async listAssociations(ctx: RequestContext, nsName: string): Promise<ResourceTypeAssociation[]> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'list_metadef_resource_types', ns);
      const associations = await repo.listAssociations(ns);
      return policy.check(ctx, 'get_metadef_resource_type', ns) ? associations : [];
    },

    async createAssociation(ctx: RequestContext, nsName: string, rawBody: unknown): Promise<ResourceTypeAssociation> {
      const fields = parseAssociationBody(rawBody);
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'add_metadef_resource_type_association', ns);
      const created = await repo.addAssociation(ns, fields, clock.now());
      notifier.emit('metadef_resource_type.create', resourceTypePayload(ns.namespace, created));
      return created;
    },

    async deleteAssociation(ctx: RequestContext, nsName: string, resourceType: string): Promise<void> {
      const ns = await findNamespace(ctx, nsName, 'short');
      policy.enforce(ctx, 'remove_metadef_resource_type_association', ns);
      const association = (await repo.listAssociations(ns)).find((a) => a.name === resourceType);
      if (association === undefined) throw new NotFound(`Failed to find resource type ${resourceType} to delete`);
      checkDeletable(ns, 'resource_type', resourceType);
      if (!(await repo.removeAssociation(ns, resourceType))) throw new NotFound(`Failed to find resource type ${resourceType} to delete`);
      notifier.emit('metadef_resource_type.delete', { ...resourceTypePayload(ns.namespace, association), ...deletedNow() });
    },
  };
}

/** An object's property definitions as Glance's model serves them (loaded files are stored as written). */
function normalisedObject(object: MetadefObject): MetadefObject {
  if (object.properties === null) return object;
  return { ...object, properties: Object.fromEntries(Object.entries(object.properties).map(([k, v]) => [k, storedPropertyType(v)])) };
}

/** `limit`: an integer ≥ 0 (namespaces: default and cap from the config; tags: none by default). */
function pageLimit(text: string | undefined, limits: MetadefServiceDeps['limits'] | null): number | null {
  if (text === undefined || text === '') return limits === null ? null : Math.min(limits.apiLimitMax, limits.limitParamDefault);
  // Glance answers a non-integer limit with a 500 (int() raising before its own check).
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new Invalid('limit param must be an integer');
  let limit = Number.parseInt(text, 10);
  if (limits !== null) limit = Math.min(limits.apiLimitMax, limit);
  if (limit < 0) throw new Invalid('limit param must be positive');
  return limit;
}

function sortDirection(text: string | undefined): 'asc' | 'desc' {
  const dir = text ?? 'desc';
  if (dir !== 'asc' && dir !== 'desc') throw new Invalid(`Invalid sort direction: ${dir}`);
  return dir;
}

type SortValue = string | number | boolean | Date | null;

function namespaceKey(ns: MetadefNamespace, key: string): SortValue {
  return (ns as unknown as Record<string, SortValue>)[key] ?? null;
}

/** oslo.db paginate_query's order: every key in the same direction, NULLs lowest. */
function compareBy<T>(keys: readonly string[], dir: 'asc' | 'desc', value: (item: T, key: string) => SortValue) {
  const sign = dir === 'asc' ? 1 : -1;
  return (a: T, b: T): number => {
    for (const key of keys) {
      const c = compareValues(value(a, key), value(b, key));
      if (c !== 0) return sign * c;
    }
    return 0;
  };
}

function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  return Number(x) - Number(y);
}

/** oslo's isotime of now (seconds, `Z`), for `deleted_at`. */
function isoNow(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}
