/**
 * Glance 25.1.0's metadef policy rules (glance/policies/metadef.py), as data beside the image
 * rules of glance-defaults.ts. Reads are open to readers of the namespace's project and to
 * everyone for public namespaces (deprecated default: `rule:metadef_default`, i.e. anyone);
 * every write is `rule:metadef_admin` (role:admin) in both modes.
 */
import type { RuleDefault } from './glance-defaults.js';

const READ_NAMESPACE = "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))";
const READ_PROJECT = 'role:admin or (role:reader and project_id:%(project_id)s)';
const LEGACY = 'rule:metadef_default';
const ADMIN = 'rule:metadef_admin';
const PROJECT = ['project'] as const;

const NS = '/v2/metadefs/namespaces';

function read(name: string, description: string, operation: string, check = READ_NAMESPACE): RuleDefault {
  return { name, check, deprecated: LEGACY, scopeTypes: PROJECT, description, operations: [operation] };
}

function write(name: string, description: string, operation: string): RuleDefault {
  return { name, check: ADMIN, scopeTypes: PROJECT, description, operations: [operation] };
}

export const METADEF_RULE_DEFAULTS: readonly RuleDefault[] = Object.freeze([
  { name: 'metadef_default', check: '', description: 'Referred to by the deprecated metadef read rules.' },
  { name: 'metadef_admin', check: 'role:admin', description: 'Who may change metadata definitions.' },
  read('get_metadef_namespace', 'Get a specific namespace.', `GET ${NS}/{namespace_name}`),
  read('get_metadef_namespaces', 'List namespace.', `GET ${NS}`, READ_PROJECT),
  write('modify_metadef_namespace', 'Modify an existing namespace.', `PUT ${NS}/{namespace_name}`),
  write('add_metadef_namespace', 'Create a namespace.', `POST ${NS}`),
  write('delete_metadef_namespace', 'Delete a namespace.', `DELETE ${NS}/{namespace_name}`),
  read('get_metadef_object', 'Get a specific object from a namespace.', `GET ${NS}/{namespace_name}/objects/{object_name}`),
  read('get_metadef_objects', 'Get objects from a namespace.', `GET ${NS}/{namespace_name}/objects`),
  write('modify_metadef_object', 'Update an object within a namespace.', `PUT ${NS}/{namespace_name}/objects/{object_name}`),
  write('add_metadef_object', 'Create an object within a namespace.', `POST ${NS}/{namespace_name}/objects`),
  write('delete_metadef_object', 'Delete an object within a namespace.', `DELETE ${NS}/{namespace_name}/objects/{object_name}`),
  read('list_metadef_resource_types', 'List meta definition resource types.', 'GET /v2/metadefs/resource_types'),
  read('get_metadef_resource_type', 'Get meta definition resource types associations.', `GET ${NS}/{namespace_name}/resource_types`),
  write('add_metadef_resource_type_association', 'Create meta definition resource types association.', `POST ${NS}/{namespace_name}/resource_types`),
  write('remove_metadef_resource_type_association', 'Delete meta definition resource types association.', `DELETE ${NS}/{namespace_name}/resource_types/{name}`),
  read('get_metadef_property', 'Get a specific meta definition property.', `GET ${NS}/{namespace_name}/properties/{property_name}`),
  read('get_metadef_properties', 'List meta definition properties.', `GET ${NS}/{namespace_name}/properties`),
  write('modify_metadef_property', 'Update meta definition property.', `PUT ${NS}/{namespace_name}/properties/{property_name}`),
  write('add_metadef_property', 'Create meta definition property.', `POST ${NS}/{namespace_name}/properties`),
  write('remove_metadef_property', 'Delete meta definition property.', `DELETE ${NS}/{namespace_name}/properties/{property_name}`),
  read('get_metadef_tag', 'Get tag definition.', `GET ${NS}/{namespace_name}/tags/{tag_name}`),
  read('get_metadef_tags', 'List tag definitions.', `GET ${NS}/{namespace_name}/tags`),
  write('modify_metadef_tag', 'Update tag definition.', `PUT ${NS}/{namespace_name}/tags/{tag_name}`),
  write('add_metadef_tag', 'Add tag definition.', `POST ${NS}/{namespace_name}/tags/{tag_name}`),
  write('add_metadef_tags', 'Create tag definitions.', `POST ${NS}/{namespace_name}/tags`),
  write('delete_metadef_tag', 'Delete tag definition.', `DELETE ${NS}/{namespace_name}/tags/{tag_name}`),
  write('delete_metadef_tags', 'Delete tag definitions.', `DELETE ${NS}/{namespace_name}/tags`),
] satisfies RuleDefault[]);
