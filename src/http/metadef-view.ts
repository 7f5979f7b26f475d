/**
 * Metadefs on the wire, as Glance's WSME models serialise them: keys in the models'
 * declaration order, attributes that are None left out, times as oslo's isotime.
 */
import type { JsonMap, MetadefNamespace, MetadefObject, MetadefTag, ResourceType, ResourceTypeAssociation } from '../domain/metadef.js';
import { prefixKeys } from '../domain/metadef.js';
import type { NamespaceBody } from '../domain/metadef-requests.js';
import type { NamespaceDetail } from '../services/metadefs.js';
import { isoTime } from './image-view.js';

const NS_PATH = '/v2/metadefs/namespaces';

/** Drops the keys whose value is null or undefined (WSME leaves None attributes out). */
function present(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined));
}

const time = (d: Date | null): string | null => (d === null ? null : isoTime(d));

interface NamespaceExtras {
  readonly resource_type_associations?: readonly Record<string, unknown>[];
  readonly properties?: Readonly<Record<string, JsonMap>>;
  readonly objects?: readonly Record<string, unknown>[];
  readonly tags?: readonly Record<string, unknown>[];
}

export function namespaceView(ns: MetadefNamespace, extras: NamespaceExtras = {}): Record<string, unknown> {
  return present({
    namespace: ns.namespace,
    display_name: ns.display_name,
    description: ns.description,
    visibility: ns.visibility ?? 'private',
    protected: ns.protected,
    owner: ns.owner,
    created_at: time(ns.created_at),
    updated_at: time(ns.updated_at),
    resource_type_associations: extras.resource_type_associations,
    properties: extras.properties,
    objects: extras.objects,
    tags: extras.tags,
    self: `${NS_PATH}/${ns.namespace}`,
    schema: '/v2/schemas/metadefs/namespace',
  });
}

export function associationView(a: Partial<ResourceTypeAssociation> & { readonly name: string }): Record<string, unknown> {
  return present({
    name: a.name,
    prefix: a.prefix,
    properties_target: a.properties_target,
    created_at: time(a.created_at ?? null),
    updated_at: time(a.updated_at ?? null),
  });
}

export function resourceTypeView(t: ResourceType): Record<string, unknown> {
  return present({ name: t.name, created_at: time(t.created_at), updated_at: time(t.updated_at) });
}

/** An object; `nsName` adds `self` and `schema` (stored objects), none for an object as requested. */
export function objectView(o: Omit<MetadefObject, 'id' | 'created_at' | 'updated_at'> & Partial<MetadefObject>, nsName?: string, prefix?: string | null): Record<string, unknown> {
  const properties = o.properties && prefix ? prefixKeys(o.properties, prefix) : o.properties;
  const required = o.required && prefix ? o.required.map((n) => prefix + n) : o.required;
  return present({
    name: o.name,
    required,
    description: o.description,
    properties,
    created_at: time(o.created_at ?? null),
    updated_at: time(o.updated_at ?? null),
    self: nsName === undefined ? undefined : `${NS_PATH}/${nsName}/objects/${o.name}`,
    schema: nsName === undefined ? undefined : '/v2/schemas/metadefs/object',
  });
}

export function tagView(t: MetadefTag): Record<string, unknown> {
  return present({ name: t.name, created_at: time(t.created_at), updated_at: time(t.updated_at) });
}

/** GET …/namespaces/{ns}: contents only when there are some; `prefix` for ?resource_type=. */
export function namespaceDetailView(detail: NamespaceDetail, prefix: string | null): Record<string, unknown> {
  const ns = detail.namespace.namespace;
  const properties = Object.keys(detail.properties).length === 0 ? undefined : prefix ? prefixKeys(detail.properties, prefix) : detail.properties;
  return namespaceView(detail.namespace, {
    resource_type_associations: detail.associations.length === 0 ? undefined : detail.associations.map(associationView),
    properties,
    objects: detail.objects.length === 0 ? undefined : detail.objects.map((o) => objectView(o, ns, prefix)),
    tags: detail.tags.length === 0 ? undefined : detail.tags.map((t) => ({ name: t.name })),
  });
}

/** POST …/namespaces answers with the namespace and its contents as the request gave them. */
export function createdNamespaceView(ns: MetadefNamespace, body: NamespaceBody): Record<string, unknown> {
  return namespaceView(ns, {
    resource_type_associations: body.resource_type_associations?.map((a) => associationView(a)),
    properties: body.properties ?? undefined,
    objects: body.objects?.map((o) => objectView(o)),
    tags: body.tags?.map((t) => ({ name: t.name })),
  });
}

/** A property definition with its name first (PropertyType's order). */
export function propertyView(definition: JsonMap): Record<string, unknown> {
  const { name, ...rest } = definition;
  return name === undefined ? rest : { name, ...rest };
}

/** Python's urllib.parse.urlencode (quote_plus) of ordered pairs. */
export function urlencode(pairs: readonly (readonly [string, string])[]): string {
  const quote = (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return pairs.map(([k, v]) => `${quote(k)}=${quote(v)}`).join('&');
}
