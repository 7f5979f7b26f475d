/**
 * The port of the metadata definitions catalog: one repository over the six metadef tables.
 * It checks nothing about the caller (the service applies visibility and policy); it keeps
 * names unique, raising Conflict with Glance's messages, and children go with their namespace.
 */
import type { RequestContext } from './context.js';
import type {
  AssociationFields,
  JsonMap,
  MetadefNamespace,
  MetadefObject,
  MetadefProperty,
  MetadefTag,
  NamespaceFields,
  NamespaceScope,
  ObjectFields,
  ResourceType,
  ResourceTypeAssociation,
} from './metadef.js';

/** What a namespace is created with, all in one transaction (POST /v2/metadefs/namespaces). */
export interface NamespaceContents {
  readonly associations: readonly AssociationFields[];
  readonly objects: readonly ObjectFields[];
  /** Property name → definition. */
  readonly properties: Readonly<Record<string, JsonMap>>;
  readonly tags: readonly string[];
}

export interface NamespaceListFilter {
  readonly scope: NamespaceScope;
  readonly visibility?: string;
  /** Only namespaces associated with one of these resource types. */
  readonly resourceTypes?: readonly string[];
}

/**
 * @example
 *   const ns = await metadefs.addNamespace(fields, clock.now(), contents);
 *   await metadefs.addTag(ns, 'ssd', clock.now());
 */
export interface MetadefRepository {
  /** By name, whoever may see it; null when there is none. */
  getNamespace(name: string): Promise<MetadefNamespace | null>;
  /** The namespaces in `filter.scope` (admin: all; else public ones and the project's), unsorted. */
  listNamespaces(filter: NamespaceListFilter): Promise<MetadefNamespace[]>;
  /** @throws Conflict (name taken, or duplicate content) — then nothing is written. */
  addNamespace(fields: NamespaceFields, now: Date, contents?: NamespaceContents): Promise<MetadefNamespace>;
  /** @throws Conflict when the new name is taken. */
  saveNamespace(ns: MetadefNamespace, fields: NamespaceFields, now: Date): Promise<MetadefNamespace>;
  /** Deletes the namespace and everything in it. */
  removeNamespace(ns: MetadefNamespace): Promise<void>;
  removeObjects(ns: MetadefNamespace): Promise<void>;
  removeProperties(ns: MetadefNamespace): Promise<void>;
  removeTags(ns: MetadefNamespace): Promise<void>;

  /** In creation order. */
  listObjects(ns: MetadefNamespace): Promise<MetadefObject[]>;
  getObject(ns: MetadefNamespace, name: string): Promise<MetadefObject | null>;
  addObject(ns: MetadefNamespace, fields: ObjectFields, now: Date): Promise<MetadefObject>;
  saveObject(ns: MetadefNamespace, object: MetadefObject, fields: ObjectFields, now: Date): Promise<MetadefObject>;
  removeObject(object: MetadefObject): Promise<void>;

  /** In creation order. */
  listProperties(ns: MetadefNamespace): Promise<MetadefProperty[]>;
  getProperty(ns: MetadefNamespace, name: string): Promise<MetadefProperty | null>;
  addProperty(ns: MetadefNamespace, name: string, schema: JsonMap, now: Date): Promise<MetadefProperty>;
  saveProperty(ns: MetadefNamespace, property: MetadefProperty, name: string, schema: JsonMap, now: Date): Promise<MetadefProperty>;
  removeProperty(property: MetadefProperty): Promise<void>;

  /** Every tag, unsorted (the service sorts and pages). */
  listTags(ns: MetadefNamespace): Promise<MetadefTag[]>;
  getTag(ns: MetadefNamespace, name: string): Promise<MetadefTag | null>;
  addTag(ns: MetadefNamespace, name: string, now: Date): Promise<MetadefTag>;
  /** Adds `names` (after deleting the namespace's tags unless `append`), all or nothing. */
  addTags(ns: MetadefNamespace, names: readonly string[], append: boolean, now: Date): Promise<MetadefTag[]>;
  saveTag(ns: MetadefNamespace, tag: MetadefTag, name: string, now: Date): Promise<MetadefTag>;
  removeTag(tag: MetadefTag): Promise<void>;

  listResourceTypes(): Promise<ResourceType[]>;
  listAssociations(ns: MetadefNamespace): Promise<ResourceTypeAssociation[]>;
  /** Creates the resource type when it does not exist yet. @throws Conflict for an existing association. */
  addAssociation(ns: MetadefNamespace, fields: AssociationFields, now: Date): Promise<ResourceTypeAssociation>;
  /** False when there was no such association. */
  removeAssociation(ns: MetadefNamespace, resourceType: string): Promise<boolean>;
}

/** Glance's metadef policy rule names (glance/policies/metadef.py). */
export type MetadefRule =
  | 'get_metadef_namespace'
  | 'get_metadef_namespaces'
  | 'modify_metadef_namespace'
  | 'add_metadef_namespace'
  | 'delete_metadef_namespace'
  | 'get_metadef_object'
  | 'get_metadef_objects'
  | 'modify_metadef_object'
  | 'add_metadef_object'
  | 'delete_metadef_object'
  | 'list_metadef_resource_types'
  | 'get_metadef_resource_type'
  | 'add_metadef_resource_type_association'
  | 'remove_metadef_resource_type_association'
  | 'get_metadef_property'
  | 'get_metadef_properties'
  | 'modify_metadef_property'
  | 'add_metadef_property'
  | 'remove_metadef_property'
  | 'get_metadef_tag'
  | 'get_metadef_tags'
  | 'modify_metadef_tag'
  | 'add_metadef_tag'
  | 'add_metadef_tags'
  | 'delete_metadef_tag'
  | 'delete_metadef_tags';

/**
 * The metadef policy (Glance's MetadefAPIPolicy): rules are checked against the namespace's
 * owner and visibility, or the caller's project when there is no namespace.
 */
export interface MetadefPolicy {
  /**
   * Throws Forbidden when `rule` refuses; NotFound instead when the caller may not even get
   * the namespace (`get_metadef_namespace` refuses too), so hidden namespaces stay hidden.
   */
  enforce(ctx: RequestContext, rule: MetadefRule, ns?: MetadefNamespace): void;
  /** Whether `rule` allows the caller (never throws). */
  check(ctx: RequestContext, rule: MetadefRule, ns?: MetadefNamespace): boolean;
}
