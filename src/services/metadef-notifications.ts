/**
 * Payloads of Glance's `metadef_*` notifications (glance/notifier.py format_metadef_*),
 * emitted through the Notifier port. Times are oslo's isotime (seconds, `Z`).
 */
import type { JsonMap, MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag, ResourceTypeAssociation } from '../domain/metadef.js';

function isotime(date: Date | null): string | null {
  return date === null ? null : `${date.toISOString().slice(0, 19)}Z`;
}

const live = { deleted: false, deleted_at: null };

export function namespacePayload(ns: MetadefNamespace): Record<string, unknown> {
  return {
    namespace: ns.namespace,
    namespace_old: ns.namespace,
    display_name: ns.display_name,
    protected: ns.protected,
    visibility: ns.visibility ?? 'private',
    owner: ns.owner,
    description: ns.description,
    created_at: isotime(ns.created_at),
    updated_at: isotime(ns.updated_at),
    ...live,
  };
}

// Glance's object-property payload: every attribute, falsy ones as None.
const OBJECT_PROPERTY_KEYS = [
  'type', 'title', 'description', 'default', 'minimum', 'maximum', 'enum', 'pattern', 'minLength', 'maxLength',
  'confidential', 'items', 'uniqueItems', 'minItems', 'maxItems', 'additionalItems',
] as const;

export function objectPayload(namespace: string, object: MetadefObject): Record<string, unknown> {
  const properties = Object.entries(object.properties ?? {}).map(([name, p]) => ({
    name,
    ...Object.fromEntries(OBJECT_PROPERTY_KEYS.map((k) => [k, falsyToNull(p[k])])),
  }));
  return {
    namespace,
    name: object.name,
    name_old: object.name,
    properties,
    required: object.required,
    description: object.description,
    created_at: isotime(object.created_at),
    updated_at: isotime(object.updated_at),
    ...live,
  };
}

export function propertyPayload(namespace: string, property: MetadefProperty): Record<string, unknown> {
  const s: JsonMap = property.schema;
  return {
    namespace,
    name: property.name,
    name_old: property.name,
    ...Object.fromEntries(OBJECT_PROPERTY_KEYS.map((k) => [k, s[k] ?? null])),
    ...live,
  };
}

export function resourceTypePayload(namespace: string, association: ResourceTypeAssociation): Record<string, unknown> {
  return {
    namespace,
    name: association.name,
    name_old: association.name,
    prefix: association.prefix,
    properties_target: association.properties_target,
    created_at: isotime(association.created_at),
    updated_at: isotime(association.updated_at),
    ...live,
  };
}

export function tagPayload(namespace: string, tag: MetadefTag): Record<string, unknown> {
  return {
    namespace,
    name: tag.name,
    name_old: tag.name,
    created_at: isotime(tag.created_at),
    updated_at: isotime(tag.updated_at),
    ...live,
  };
}

function falsyToNull(v: unknown): unknown {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return null;
  if (Array.isArray(v) && v.length === 0) return null;
  if (typeof v === 'object' && Object.keys(v).length === 0) return null;
  return v;
}
