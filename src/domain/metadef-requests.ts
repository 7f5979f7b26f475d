/**
 * Request bodies of the metadefs API, checked as Glance's RequestDeserializers check them:
 * read-only attributes first (403 "Attribute 'x' is read-only."), then the JSON schema
 * (400 with jsonschema's message), then the WSME model conversion, which normalises property
 * definitions (see `propertyType`).
 */
import { Forbidden, Invalid } from './errors.js';
import { validateAgainstSchema } from './image-validation.js';
import type { JsonObject } from './image-schemas.js';
import { propertyType, type AssociationFields, type JsonMap, type ObjectFields } from './metadef.js';
import {
  namespaceSchema,
  objectSchema,
  propertySchema,
  resourceTypeAssociationSchema,
  tagListSchema,
  tagSchema,
} from './metadef-schemas.js';

/** A namespace body after conversion; absent attributes stay undefined. */
export interface NamespaceBody {
  readonly namespace: string;
  readonly display_name?: string | null;
  readonly description?: string | null;
  readonly visibility?: string | null;
  readonly protected?: boolean | null;
  readonly owner?: string | null;
  readonly resource_type_associations?: readonly AssociationFields[];
  readonly properties?: Readonly<Record<string, JsonMap>> | null;
  readonly objects?: readonly ObjectFields[];
  readonly tags?: readonly { readonly name: string }[];
}

const FULL_READ_ONLY = ['self', 'schema', 'created_at', 'updated_at'];
const TIMES_READ_ONLY = ['created_at', 'updated_at'];

function asObject(body: unknown): JsonMap {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Invalid('Body expected in request.');
  return body as JsonMap;
}

function checkReadOnly(body: JsonMap, keys: readonly string[]): void {
  for (const key of keys) if (key in body) throw new Forbidden(`Attribute '${key}' is read-only.`);
}

function validate(body: unknown, schema: JsonObject): void {
  validateAgainstSchema(body, schema);
}

const optText = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function properties(raw: unknown): Record<string, JsonMap> | null {
  if (raw === null || raw === undefined) return null;
  return Object.fromEntries(Object.entries(raw as Record<string, JsonMap>).map(([k, v]) => [k, propertyType(v)]));
}

function mandatoryName(raw: JsonMap, what: string): string {
  if (typeof raw.name !== 'string') throw new Invalid(`Invalid input for field/attribute name. Value: 'None'. Mandatory field missing (${what}).`);
  return raw.name;
}

function objectFields(raw: JsonMap): ObjectFields {
  return {
    name: mandatoryName(raw, 'object'),
    description: optText(raw.description),
    required: Array.isArray(raw.required) ? (raw.required as string[]) : null,
    properties: properties(raw.properties),
  };
}

function associationFields(raw: JsonMap): AssociationFields {
  return { name: mandatoryName(raw, 'resource type association'), prefix: optText(raw.prefix), properties_target: optText(raw.properties_target) };
}

/** POST and PUT /v2/metadefs/namespaces[/{ns}]. */
export function parseNamespaceBody(raw: unknown): NamespaceBody {
  const body = asObject(raw);
  checkReadOnly(body, FULL_READ_ONLY);
  validate(body, namespaceSchema());
  const has = (k: string) => Object.hasOwn(body, k);
  return {
    namespace: body.namespace as string,
    ...(has('display_name') ? { display_name: optText(body.display_name) } : {}),
    ...(has('description') ? { description: optText(body.description) } : {}),
    ...(has('visibility') ? { visibility: optText(body.visibility) } : {}),
    ...(has('protected') ? { protected: body.protected === null ? null : Boolean(body.protected) } : {}),
    ...(has('owner') ? { owner: optText(body.owner) } : {}),
    ...(has('resource_type_associations') && Array.isArray(body.resource_type_associations)
      ? { resource_type_associations: (body.resource_type_associations as JsonMap[]).map(associationFields) }
      : {}),
    ...(has('properties') ? { properties: properties(body.properties) } : {}),
    ...(has('objects') && Array.isArray(body.objects) ? { objects: (body.objects as JsonMap[]).map(objectFields) } : {}),
    ...(has('tags') && Array.isArray(body.tags) ? { tags: (body.tags as JsonMap[]).map((t) => ({ name: mandatoryName(t, 'tag') })) } : {}),
  };
}

/**
 * POST (`create` true: each property is also checked against the property schema, as
 * Glance does on create only) and PUT …/objects[/{name}].
 */
export function parseObjectBody(raw: unknown, create: boolean): ObjectFields {
  const body = asObject(raw);
  checkReadOnly(body, FULL_READ_ONLY);
  validate(body, objectSchema());
  if (create && body.properties !== null && typeof body.properties === 'object') {
    const schema = propertySchema(false);
    for (const definition of Object.values(body.properties as JsonMap)) validate(definition, schema);
  }
  return objectFields(body);
}

/** POST and PUT …/properties[/{name}]: the definition, normalised, with its `name`. */
export function parsePropertyBody(raw: unknown): JsonMap {
  const body = asObject(raw);
  checkReadOnly(body, TIMES_READ_ONLY);
  validate(body, propertySchema(true));
  return propertyType(body);
}

/** PUT …/tags/{name}: the new name. */
export function parseTagBody(raw: unknown): string {
  const body = asObject(raw);
  checkReadOnly(body, TIMES_READ_ONLY);
  validate(body, tagSchema());
  return body.name as string;
}

/** POST …/tags/{name}: the name from the path must fit the tag schema. */
export function parseTagName(name: string): void {
  validate({ name }, tagSchema());
}

/** POST …/tags: `{"tags": [{"name": …}, …]}` → names, in order. */
export function parseTagListBody(raw: unknown): string[] {
  const body = asObject(raw);
  checkReadOnly(body, TIMES_READ_ONLY);
  validate(body, tagListSchema());
  return Array.isArray(body.tags) ? (body.tags as JsonMap[]).map((t) => t.name as string) : [];
}

/** POST …/resource_types. */
export function parseAssociationBody(raw: unknown): AssociationFields {
  const body = asObject(raw);
  checkReadOnly(body, TIMES_READ_ONLY);
  validate(body, resourceTypeAssociationSchema());
  return associationFields(body);
}
