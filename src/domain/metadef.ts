/**
 * The metadata definitions catalog (Glance's "metadefs"): namespaces holding property
 * definitions, objects (named groups of properties), tags, and associations with resource
 * types (OS::Glance::Image, OS::Nova::Flavor…) that say which prefix a namespace's
 * properties take on that resource.
 *
 * The rules Glance 25.1.0 applies outside its policy rules live here: who sees a namespace
 * (glance/db/sqlalchemy/metadef_api/namespace.py _is_namespace_visible), what `protected`
 * forbids (glance/domain MetadefNamespace.delete and friends), and how a property definition
 * is normalised on its way in and out (Glance round-trips it through its WSME PropertyType
 * model, which keeps known keys only, in its own order, and converts some values).
 */
import type { RequestContext } from './context.js';
import { Forbidden, Invalid } from './errors.js';

/** A JSON object as stored and served. */
export type JsonMap = Record<string, unknown>;

export type MetadefVisibility = 'public' | 'private';

export interface MetadefNamespace {
  /** Storage id; never on the wire. */
  readonly id: number;
  readonly namespace: string;
  readonly display_name: string | null;
  readonly description: string | null;
  /** As stored: null for a definition loaded without one, which Glance treats as private. */
  readonly visibility: string | null;
  readonly protected: boolean;
  readonly owner: string;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

/** What a caller may set on a namespace (create and update). */
export interface NamespaceFields {
  readonly namespace: string;
  readonly display_name: string | null;
  readonly description: string | null;
  readonly visibility: string | null;
  readonly protected: boolean;
  readonly owner: string;
}

export interface MetadefObject {
  readonly id: number;
  readonly name: string;
  readonly description: string | null;
  /** Null when none (Glance stores none as NULL and shows `[]`). */
  readonly required: readonly string[] | null;
  /** Property name → definition, normalised (see `propertyType`). */
  readonly properties: Readonly<Record<string, JsonMap>> | null;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

export interface ObjectFields {
  readonly name: string;
  readonly description: string | null;
  readonly required: readonly string[] | null;
  readonly properties: Readonly<Record<string, JsonMap>> | null;
}

export interface MetadefProperty {
  readonly id: number;
  readonly name: string;
  /** The definition as stored (see `propertyType`). */
  readonly schema: JsonMap;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

export interface MetadefTag {
  readonly id: number;
  readonly name: string;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

export interface ResourceType {
  readonly name: string;
  /** Seeded by load_metadefs. */
  readonly protected: boolean;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

/** A namespace's association with a resource type. */
export interface ResourceTypeAssociation {
  readonly name: string;
  readonly prefix: string | null;
  readonly properties_target: string | null;
  readonly created_at: Date;
  readonly updated_at: Date | null;
}

export interface AssociationFields {
  readonly name: string;
  readonly prefix: string | null;
  readonly properties_target: string | null;
}

/** The visibility Glance reports and its policy target carries: `private` when none is stored. */
export function effectiveVisibility(ns: Pick<MetadefNamespace, 'visibility'>): string {
  return ns.visibility ?? 'private';
}

/**
 * Whether the namespace exists for this caller (Glance's _is_namespace_visible, applied by its
 * database layer on every lookup): admins see all; others the public ones and their project's.
 */
export function namespaceVisibleTo(ctx: RequestContext, ns: Pick<MetadefNamespace, 'visibility' | 'owner'>): boolean {
  if (ctx.isAdmin) return true;
  if (ns.visibility === 'public') return true;
  return ctx.projectId !== null && ctx.projectId === ns.owner;
}

/** What a caller sees in a list: Glance's _select_namespaces_query as data for the repository. */
export interface NamespaceScope {
  /** Null: every namespace (admin). */
  readonly project: string | null;
  readonly all: boolean;
}

export function namespaceScope(ctx: RequestContext): NamespaceScope {
  return { project: ctx.projectId, all: ctx.isAdmin };
}

/** A protected namespace keeps itself and its contents (Glance's Protected…Delete, all 403). */
export function checkDeletable(ns: MetadefNamespace, what: 'namespace' | 'object' | 'property' | 'tag' | 'resource_type', name: string): void {
  if (!ns.protected) return;
  switch (what) {
    case 'namespace':
      throw new Forbidden(`Metadata definition namespace ${name} is protected and cannot be deleted.`);
    case 'object':
      throw new Forbidden(`Metadata definition object ${name} is protected and cannot be deleted.`);
    case 'property':
      throw new Forbidden(`Metadata definition property ${name} is protected and cannot be deleted.`);
    case 'tag':
      throw new Forbidden(`Metadata definition tag ${name} is protected and cannot be deleted.`);
    case 'resource_type':
      throw new Forbidden(`Metadata definition resource-type-association ${name} is protected and cannot be deleted.`);
  }
}

// --------------------------------------------------------- property definitions --

type Converter = (value: unknown, key: string) => unknown;

/** Python's str() of a JSON scalar, as WSME's bytes conversion writes it. */
function pyStr(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pyFloat(value);
  return null;
}

function pyFloat(value: number): string {
  const s = String(value);
  return /[.e]/.test(s) ? s.replace(/e\+?/, 'e+').replace('e+-', 'e-') : `${s}.0`;
}

const text: Converter = (v, key) => {
  if (v === null) return null;
  if (typeof v !== 'string') throw new Invalid(`Invalid input for field/attribute ${key}. Value: '${String(v)}'. Wrong type. Expected 'str', got '${pyTypeName(v)}'`);
  return v;
};
const integer: Converter = (v, key) => {
  if (v === null) return null;
  const n = typeof v === 'boolean' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new Invalid(`Invalid input for field/attribute ${key}. Value: '${String(v)}'. Wrong type.`);
  return Math.trunc(n); // Python's int() of a float truncates
};
const bool: Converter = (v, key) => {
  if (v === null) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const s = String(v).toLowerCase();
  if (['true', 'on', 'yes', 'y', '1'].includes(s)) return true;
  if (['false', 'off', 'no', 'n', '0'].includes(s)) return false;
  throw new Invalid(`Value not an unambiguous boolean: ${String(v)}`);
};
const bytes: Converter = (v) => (v === null ? null : pyStr(v));
const textList: Converter = (v) => {
  if (v === null) return null;
  if (!Array.isArray(v)) throw new Invalid(`Value not a valid list: ${String(v)}`);
  // WSME keeps non-string items of a text list as they are.
  return [...(v as unknown[])];
};
const itemType: Converter = (v, key) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Invalid(`Invalid input for field/attribute ${key}.`);
  return convert(v as JsonMap, ITEM_TYPE, ['type']);
};

/** WSME PropertyType's attributes in declaration order, which is the order Glance writes them. */
const PROPERTY_TYPE: readonly (readonly [string, Converter])[] = [
  ['name', text],
  ['type', text],
  ['title', text],
  ['description', text],
  ['operators', textList],
  ['default', bytes],
  ['readonly', bool],
  ['minimum', integer],
  ['maximum', integer],
  ['enum', textList],
  ['pattern', text],
  ['minLength', integer],
  ['maxLength', integer],
  ['confidential', bool],
  ['items', itemType],
  ['uniqueItems', bool],
  ['minItems', integer],
  ['maxItems', integer],
  ['additionalItems', bool],
];

const ITEM_TYPE: readonly (readonly [string, Converter])[] = [
  ['type', text],
  ['enum', textList],
];

function convert(value: JsonMap, attributes: readonly (readonly [string, Converter])[], mandatory: readonly string[]): JsonMap {
  const known = new Set(attributes.map(([k]) => k));
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Invalid(`Unknown attribute for argument: ${unknown.join(', ')}`);
  const out: JsonMap = {};
  for (const [key, conv] of attributes) {
    if (key in value) out[key] = conv(value[key], key);
    else if (mandatory.includes(key)) throw new Invalid(`Invalid input for field/attribute ${key}. Value: 'None'. Mandatory field missing.`);
  }
  return out;
}

/**
 * A property definition as Glance keeps and serves it: its WSME PropertyType round trip
 * (json.fromjson then json.tojson). Only PropertyType's attributes are kept, in its order;
 * integers are Python int()s, `default` becomes text (`5` → `"5"`, `true` → `"True"`, any
 * other value null), booleans are parsed. `type` and `title` are mandatory.
 * @throws Invalid for an unknown attribute, a missing mandatory one or a value of a wrong kind.
 */
export function propertyType(raw: JsonMap): JsonMap {
  return convert(raw, PROPERTY_TYPE, ['type', 'title']);
}

/** Like `propertyType` for data Glance wrote itself (load_metadefs keeps files as they are). */
export function storedPropertyType(raw: JsonMap): JsonMap {
  try {
    return propertyType(raw);
  } catch {
    // A definition the API could not have written: serve what is stored.
    return raw;
  }
}

function pyTypeName(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'NoneType';
  return typeof v === 'object' ? 'dict' : 'str';
}

// ------------------------------------------------------------ resource types --

/**
 * Property names as they apply to a resource type (GET …/namespaces/{ns}?resource_type=X):
 * the association's prefix in front of every property and object property name and of the
 * names in an object's `required`. No association or no prefix: unchanged.
 */
export function prefixFor(associations: readonly ResourceTypeAssociation[], resourceType: string | undefined): string | null {
  if (resourceType === undefined || resourceType === '') return null;
  const found = associations.find((a) => a.name === resourceType);
  return found?.prefix ? found.prefix : null;
}

export function prefixKeys<T>(record: Readonly<Record<string, T>>, prefix: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [prefix + k, v]));
}

/**
 * The bare property name for GET …/properties/{name}?resource_type=X: the association's
 * prefix taken off; null when the name does not start with it (the caller's 404).
 */
export function unprefixedName(name: string, prefix: string | null): string | null {
  if (prefix && name.startsWith(prefix)) return name.slice(prefix.length);
  return null;
}
