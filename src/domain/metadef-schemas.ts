/**
 * The metadefs JSON schemas Glance 25.1.0 serves under /v2/schemas/metadefs/* and validates
 * request bodies with (glance/api/v2/metadef_*.py get_schema / get_collection_schema, built
 * by glance/schema.py). Built as data, in Glance's key order, so the documents compare equal
 * and jsonschema's error messages (which print sub-schemas) come out the same.
 */
import type { JsonObject, JsonValue } from './image-schemas.js';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];

/** The `definitions` of the namespace and object schemas (stringArray without minItems). */
function namespaceDefinitions(): JsonObject {
  return {
    positiveInteger: { type: 'integer', minimum: 0 },
    positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
    stringArray: { type: 'array', items: { type: 'string' }, uniqueItems: true },
    property: {
      type: 'object',
      additionalProperties: { type: 'object', required: ['title', 'type'], properties: propertyAttributes() },
    },
  };
}

/** What a property definition may say (the `property` definition's per-property schema). */
function propertyAttributes(): JsonObject {
  return {
    name: { type: 'string', maxLength: 80 },
    title: { type: 'string' },
    description: { type: 'string' },
    operators: { type: 'array', items: { type: 'string' } },
    type: { type: 'string', enum: TYPES },
    required: { $ref: '#/definitions/stringArray' },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    maxLength: { $ref: '#/definitions/positiveInteger' },
    minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
    pattern: { type: 'string', format: 'regex' },
    enum: { type: 'array' },
    readonly: { type: 'boolean' },
    default: {},
    items: { type: 'object', properties: { type: { type: 'string', enum: TYPES }, enum: { type: 'array' } } },
    maxItems: { $ref: '#/definitions/positiveInteger' },
    minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
    uniqueItems: { type: 'boolean', default: false },
    additionalItems: { type: 'boolean' },
  };
}

function time(description: string): JsonObject {
  return { type: 'string', readOnly: true, description, format: 'date-time' };
}

/** glance/schema.py Schema.raw(): name, properties, additionalProperties false, definitions, required. */
function schema(name: string, properties: JsonObject, required: readonly string[] | null, definitions: JsonObject | null): JsonObject {
  const raw: Record<string, JsonValue> = { name, properties, additionalProperties: false };
  if (definitions !== null) raw.definitions = definitions;
  if (required !== null && required.length > 0) raw.required = [...required];
  return raw;
}

const COLLECTION_LINKS = [
  { rel: 'first', href: '{first}' },
  { rel: 'next', href: '{next}' },
  { rel: 'describedby', href: '{schema}' },
];

/** glance/schema.py CollectionSchema / DictCollectionSchema: definitions move to the top. */
function collection(name: string, item: JsonObject, container: 'array' | 'object'): JsonObject {
  const { definitions, ...itemWithout } = item;
  const raw: Record<string, JsonValue> = {
    name,
    properties: {
      [name]: container === 'array' ? { type: 'array', items: itemWithout } : { type: 'object', additionalProperties: itemWithout },
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: COLLECTION_LINKS.map((l) => ({ ...l })),
  };
  if (definitions !== undefined) raw.definitions = definitions;
  return raw;
}

export function namespaceSchema(): JsonObject {
  const readOnlyString = { readOnly: true, type: 'string' };
  return schema(
    'namespace',
    {
      namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
      display_name: { type: 'string', description: 'The user friendly name for the namespace. Used by UI if available.', maxLength: 80 },
      description: { type: 'string', description: 'Provides a user friendly description of the namespace.', maxLength: 500 },
      visibility: { type: 'string', description: 'Scope of namespace accessibility.', enum: ['public', 'private'] },
      protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
      owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
      created_at: time('Date and time of namespace creation'),
      updated_at: time('Date and time of the last namespace modification'),
      schema: { ...readOnlyString },
      self: { ...readOnlyString },
      resource_type_associations: {
        type: 'array',
        items: { type: 'object', properties: { name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } },
      },
      properties: { $ref: '#/definitions/property' },
      objects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            required: { $ref: '#/definitions/stringArray' },
            properties: { $ref: '#/definitions/property' },
          },
        },
      },
      tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
    },
    ['namespace'],
    namespaceDefinitions(),
  );
}

export function namespacesSchema(): JsonObject {
  return collection('namespaces', namespaceSchema(), 'array');
}

export function objectSchema(): JsonObject {
  return schema(
    'object',
    {
      name: { type: 'string', maxLength: 80 },
      description: { type: 'string' },
      required: { $ref: '#/definitions/stringArray' },
      properties: { $ref: '#/definitions/property' },
      schema: { readOnly: true, type: 'string' },
      self: { readOnly: true, type: 'string' },
      created_at: time('Date and time of object creation'),
      updated_at: time('Date and time of the last object modification'),
    },
    ['name'],
    namespaceDefinitions(),
  );
}

export function objectsSchema(): JsonObject {
  return collection('objects', objectSchema(), 'array');
}

/** The property schema; `requireName` false for a property inside an object. */
export function propertySchema(requireName = true): JsonObject {
  return schema('property', propertyAttributes(), requireName ? ['type', 'title', 'name'] : ['type', 'title'], {
    positiveInteger: { type: 'integer', minimum: 0 },
    positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
    stringArray: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
  });
}

export function propertiesSchema(): JsonObject {
  return collection('properties', propertySchema(false), 'object');
}

export function tagSchema(): JsonObject {
  return schema(
    'tag',
    {
      name: { type: 'string', maxLength: 80 },
      created_at: time('Date and time of tag creation'),
      updated_at: time('Date and time of the last tag modification'),
    },
    ['name'],
    null,
  );
}

export function tagsSchema(): JsonObject {
  return collection('tags', tagSchema(), 'array');
}

/** The body of POST …/tags (a list of names). */
export function tagListSchema(): JsonObject {
  return schema(
    'tags',
    { tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } } },
    null,
    null,
  );
}

export function resourceTypeAssociationSchema(): JsonObject {
  return schema(
    'resource_type_association',
    {
      name: {
        type: 'string',
        description:
          'Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html',
        maxLength: 80,
      },
      prefix: {
        type: 'string',
        description:
          'Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).',
        maxLength: 80,
      },
      properties_target: {
        type: 'string',
        description:
          'Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.',
        maxLength: 80,
      },
      created_at: time('Date and time of resource type association'),
      updated_at: time('Date and time of the last resource type association modification'),
    },
    ['name'],
    null,
  );
}

export function resourceTypeAssociationsSchema(): JsonObject {
  return collection('resource_type_associations', resourceTypeAssociationSchema(), 'array');
}

/** /v2/schemas/metadefs/{name} → document. */
export const METADEF_SCHEMAS: Readonly<Record<string, () => JsonObject>> = {
  namespace: namespaceSchema,
  namespaces: namespacesSchema,
  resource_type: resourceTypeAssociationSchema,
  resource_types: resourceTypeAssociationsSchema,
  property: () => propertySchema(true),
  properties: propertiesSchema,
  object: objectSchema,
  objects: objectsSchema,
  tag: tagSchema,
  tags: tagsSchema,
};
