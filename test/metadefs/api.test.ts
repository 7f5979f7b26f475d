/**
 * The metadefs API over real HTTP with header identities (legacy policy defaults): full CRUD of
 * namespaces, objects, properties, tags and resource type associations, the visibility and
 * `protected` rules, list filters and paging, and Glance 25.1.0's fault texts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, type HttpAnswer } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris();
  base = `${iris.baseUrl}/v2/metadefs`;
});
after(() => iris.stop());

const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'admin' };
const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };

function expectFault(r: HttpAnswer, status: number, message: string): void {
  assert.equal(r.status, status, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
}

function ok(r: HttpAnswer, status = 200): any {
  assert.equal(r.status, status, describe(r));
  return r.body;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

test('namespaces: create with contents, show (and with a resource type prefix), update, delete', async () => {
  const body = {
    namespace: 'iris::test',
    display_name: 'Iris test',
    description: 'for tests',
    visibility: 'public',
    resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }],
    properties: { cpu: { type: 'integer', title: 'CPU', minimum: 1.7, default: 5 } },
    objects: [{ name: 'obj', required: ['a'], properties: { a: { type: 'string', title: 'A' } } }],
    tags: [{ name: 't1' }],
  };
  const created = await json('POST', `${base}/namespaces`, body, ADMIN);
  ok(created, 201);
  assert.match(created.headers.get('location') ?? '', /\/v2\/metadefs\/namespaces\/iris::test$/);
  assert.deepEqual(Object.keys(created.body), [
    'namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at',
    'resource_type_associations', 'properties', 'objects', 'tags', 'self', 'schema',
  ]);
  assert.equal(created.body.owner, 'project-admin');
  assert.equal(created.body.protected, false);
  assert.match(created.body.created_at, ISO);
  // Glance's WSME model: int() of the minimum, the default as text.
  assert.deepEqual(created.body.properties, { cpu: { type: 'integer', title: 'CPU', default: '5', minimum: 1 } });
  assert.deepEqual(created.body.resource_type_associations, [{ name: 'OS::Glance::Image', prefix: 'hw_' }]);

  const shown = ok(await json('GET', `${base}/namespaces/iris::test`, undefined, A));
  assert.deepEqual(shown.tags, [{ name: 't1' }]);
  assert.equal(shown.objects[0].self, '/v2/metadefs/namespaces/iris::test/objects/obj');
  assert.deepEqual(shown.objects[0].required, ['a']);
  assert.equal(shown.resource_type_associations[0].name, 'OS::Glance::Image');
  const prefixed = ok(await json('GET', `${base}/namespaces/iris::test?resource_type=OS::Glance::Image`, undefined, A));
  assert.deepEqual(Object.keys(prefixed.properties), ['hw_cpu']);
  assert.deepEqual(prefixed.objects[0].required, ['hw_a']);
  assert.deepEqual(Object.keys(prefixed.objects[0].properties), ['hw_a']);

  expectFault(await json('POST', `${base}/namespaces`, { namespace: 'iris::test' }, ADMIN), 409, 'The metadata definition namespace=iris::test already exists.');
  expectFault(await json('POST', `${base}/namespaces`, { namespace: 'x', self: 'y' }, ADMIN), 403, "Attribute 'self' is read-only.");
  const bad = await json('POST', `${base}/namespaces`, { namespace: 'x', visibility: 'shared' }, ADMIN);
  assert.equal(bad.status, 400, describe(bad));
  assert.match(bad.body.message, /^Provided object does not match schema 'namespace': 'shared' is not one of \['public', 'private'\]/);

  // PUT replaces the namespace's own fields; absent ones take Glance's defaults.
  const updated = ok(await json('PUT', `${base}/namespaces/iris::test`, { namespace: 'iris::renamed', visibility: 'public' }, ADMIN));
  assert.equal(updated.namespace, 'iris::renamed');
  assert.equal(updated.display_name, undefined);
  assert.equal(updated.self, '/v2/metadefs/namespaces/iris::renamed');
  expectFault(await json('GET', `${base}/namespaces/iris::test`, undefined, ADMIN), 404, 'Metadata definition namespace=iris::test was not found.');
  // The contents went along with the rename.
  assert.deepEqual(ok(await json('GET', `${base}/namespaces/iris::renamed/tags`, undefined, ADMIN)).tags, [{ name: 't1' }]);

  assert.equal((await json('DELETE', `${base}/namespaces/iris::renamed`, undefined, ADMIN)).status, 204);
  expectFault(await json('DELETE', `${base}/namespaces/iris::renamed`, undefined, ADMIN), 404, 'Namespace iris::renamed not found');
});

test('visibility, ownership, policy and protected', async () => {
  ok(await json('POST', `${base}/namespaces`, { namespace: 'iris::private' }, ADMIN), 201);
  ok(await json('POST', `${base}/namespaces`, { namespace: 'iris::guarded', visibility: 'public', protected: true }, ADMIN), 201);
  ok(await json('POST', `${base}/namespaces/iris::guarded/objects`, { name: 'o' }, ADMIN), 201);

  // A private namespace of another project does not exist for A; writes are admin-only.
  expectFault(await json('GET', `${base}/namespaces/iris::private`, undefined, A), 404, 'The resource could not be found.');
  expectFault(await json('GET', `${base}/namespaces/iris::private/tags`, undefined, A), 404, 'Namespace iris::private not found');
  expectFault(await json('GET', `${base}/namespaces/iris::private/objects`, undefined, A), 404, 'Namespace iris::private not found');
  expectFault(await json('POST', `${base}/namespaces`, { namespace: 'iris::mine' }, A), 403, 'You are not authorized to complete add_metadef_namespace action.');
  expectFault(await json('POST', `${base}/namespaces/iris::guarded/tags/x`, undefined, A), 403, 'You are not authorized to complete add_metadef_tag action.');
  const listed = ok(await json('GET', `${base}/namespaces`, undefined, A)).namespaces.map((n: any) => n.namespace);
  assert.ok(listed.includes('iris::guarded') && !listed.includes('iris::private'), listed.join());

  // Protected: neither the namespace nor its contents can be deleted; it can still be changed.
  expectFault(await json('DELETE', `${base}/namespaces/iris::guarded`, undefined, ADMIN), 403, 'Metadata definition namespace iris::guarded is protected and cannot be deleted.');
  expectFault(await json('DELETE', `${base}/namespaces/iris::guarded/objects/o`, undefined, ADMIN), 403, 'Metadata definition object o is protected and cannot be deleted.');
  expectFault(await json('DELETE', `${base}/namespaces/iris::guarded/objects`, undefined, ADMIN), 403, 'Metadata definition namespace iris::guarded is protected and cannot be deleted.');
  ok(await json('PUT', `${base}/namespaces/iris::guarded`, { namespace: 'iris::guarded', visibility: 'public', protected: false }, ADMIN));
  assert.equal((await json('DELETE', `${base}/namespaces/iris::guarded`, undefined, ADMIN)).status, 204);
  assert.equal((await json('DELETE', `${base}/namespaces/iris::private`, undefined, ADMIN)).status, 204);
});

test('objects: create, list, show, update, delete, and their errors', async () => {
  ok(await json('POST', `${base}/namespaces`, { namespace: 'iris::objects', visibility: 'public' }, ADMIN), 201);
  const url = `${base}/namespaces/iris::objects/objects`;
  const created = ok(await json('POST', url, { name: 'disk', description: 'd', properties: { size: { type: 'integer', title: 'Size' } } }, ADMIN), 201);
  assert.deepEqual(Object.keys(created), ['name', 'description', 'properties', 'created_at', 'updated_at', 'self', 'schema']);
  expectFault(await json('POST', url, { name: 'disk' }, ADMIN), 409, 'A metadata definition object with name=disk already exists in namespace=iris::objects.');
  const badProperty = await json('POST', url, { name: 'x', properties: { p: { type: 'integer' } } }, ADMIN);
  assert.equal(badProperty.status, 400, describe(badProperty));
  // The object schema refers to the property definition schema: its name in the message.
  assert.match(badProperty.body.message, /^Provided object does not match schema 'object': 'title' is a required property\n\nFailed validating 'required' in schema\['properties'\]\['properties'\]\['additionalProperties'\]/);

  const list = ok(await json('GET', url, undefined, A));
  assert.equal(list.schema, 'v2/schemas/metadefs/objects');
  assert.deepEqual(list.objects.map((o: any) => o.name), ['disk']);
  // Stored objects show `required` even when empty.
  assert.deepEqual(ok(await json('GET', `${url}/disk`, undefined, A)).required, []);

  const updated = ok(await json('PUT', `${url}/disk`, { name: 'volume', required: ['size'], properties: { size: { type: 'integer', title: 'Size' } } }, ADMIN));
  assert.equal(updated.name, 'volume');
  assert.deepEqual(updated.required, ['size']);
  expectFault(await json('GET', `${url}/disk`, undefined, ADMIN), 404, 'Could not find metadata object disk');
  expectFault(await json('GET', `${base}/namespaces/nope/objects`, undefined, ADMIN), 404, 'Metadata definition namespace=nope was not found.');
  assert.equal((await json('DELETE', `${url}/volume`, undefined, ADMIN)).status, 204);
  assert.equal((await json('DELETE', `${base}/namespaces/iris::objects`, undefined, ADMIN)).status, 204);
});

test('properties: definitions normalised as Glance does, prefixed lookups, errors', async () => {
  ok(await json('POST', `${base}/namespaces`, { namespace: 'iris::props', visibility: 'public', resource_type_associations: [{ name: 'OS::Nova::Flavor', prefix: 'hw:' }] }, ADMIN), 201);
  const url = `${base}/namespaces/iris::props/properties`;
  const created = ok(
    await json('POST', url, { name: 'mode', title: 'Mode', type: 'string', enum: ['a', 'b'], readonly: false, default: true, minimum: 2.5 }, ADMIN),
    201,
  );
  assert.deepEqual(created, { name: 'mode', type: 'string', title: 'Mode', default: 'True', readonly: false, minimum: 2, enum: ['a', 'b'] });
  expectFault(
    await json('POST', url, { name: 'x', title: 'X', type: 'integer', maxLength: -1 }, ADMIN),
    400,
    "Provided object does not match schema 'property': -1 is less than the minimum of 0\n\nFailed validating 'minimum' in schema['properties']['maxLength']:\n    {'minimum': 0, 'type': 'integer'}\n\nOn instance['maxLength']:\n    -1",
  );
  expectFault(await json('POST', url, { name: 'mode', title: 'M', type: 'string' }, ADMIN), 409, 'A metadata definition property with name=mode already exists in namespace=iris::props.');
  const invalid = await json('POST', url, { name: 'x', title: 'X', type: 'text' }, ADMIN);
  assert.equal(invalid.status, 400, describe(invalid));
  assert.match(invalid.body.message, /^Provided object does not match schema 'property': 'text' is not one of/);
  expectFault(await json('POST', url, { name: 'x', title: 'X', type: 'string', created_at: 'now' }, ADMIN), 403, "Attribute 'created_at' is read-only.");

  assert.deepEqual(Object.keys(ok(await json('GET', url, undefined, A)).properties), ['mode']);
  assert.equal(ok(await json('GET', `${url}/hw:mode?resource_type=OS::Nova::Flavor`, undefined, A)).name, 'mode');
  expectFault(
    await json('GET', `${url}/mode?resource_type=OS::Nova::Flavor`, undefined, A),
    404,
    "Property mode does not start with the expected resource type association prefix of 'hw:'.",
  );
  const renamed = ok(await json('PUT', `${url}/mode`, { name: 'style', title: 'Style', type: 'string' }, ADMIN));
  assert.deepEqual(renamed, { name: 'style', type: 'string', title: 'Style' });
  expectFault(await json('GET', `${url}/mode`, undefined, A), 404, 'Could not find property mode');
  assert.equal((await json('DELETE', `${url}/style`, undefined, ADMIN)).status, 204);
  assert.equal((await json('DELETE', `${base}/namespaces/iris::props`, undefined, ADMIN)).status, 204);
});

test('tags: single and bulk create (replace, X-Openstack-Append), list paging, update, delete', async () => {
  ok(await json('POST', `${base}/namespaces`, { namespace: 'iris::tags', visibility: 'public' }, ADMIN), 201);
  const url = `${base}/namespaces/iris::tags/tags`;
  const one = ok(await json('POST', `${url}/alpha`, undefined, ADMIN), 201);
  assert.deepEqual(Object.keys(one), ['name', 'created_at', 'updated_at']);
  expectFault(
    await json('POST', `${url}/alpha`, undefined, ADMIN),
    409,
    'A metadata tag with name=alpha already exists in namespace=iris::tags. (Please note that metadata tag names are case insensitive).',
  );

  // Without the header the list replaces every tag; with it the tags are added.
  assert.deepEqual(ok(await json('POST', url, { tags: [{ name: 'b' }, { name: 'c' }] }, ADMIN), 201), { tags: [{ name: 'b' }, { name: 'c' }] });
  ok(await json('POST', url, { tags: [{ name: 'd' }] }, { ...ADMIN, 'X-Openstack-Append': 'True' }), 201);
  const names = async (query: string) => ok(await json('GET', `${url}${query}`, undefined, A)).tags.map((t: any) => t.name);
  assert.deepEqual(await names('?sort_key=name&sort_dir=asc'), ['b', 'c', 'd']);
  assert.deepEqual(await names('?sort_key=name&sort_dir=asc&limit=1&marker=b'), ['c']);
  expectFault(await json('POST', url, { tags: [{ name: 'd' }] }, { ...ADMIN, 'X-Openstack-Append': 'true' }), 409,
    'A metadata tag with name=d already exists in namespace=iris::tags. (Please note that metadata tag names are case insensitive).');
  // A refused bulk create changes nothing.
  assert.deepEqual(await names('?sort_key=name&sort_dir=asc'), ['b', 'c', 'd']);
  const bad = await json('GET', `${url}?sort_dir=up`, undefined, A);
  expectFault(bad, 400, 'Invalid sort direction: up');

  assert.equal(ok(await json('PUT', `${url}/b`, { name: 'bee' }, ADMIN)).name, 'bee');
  expectFault(await json('GET', `${url}/b`, undefined, A), 404, 'Could not find metadata tag b');
  assert.equal((await json('DELETE', `${url}/bee`, undefined, ADMIN)).status, 204);
  assert.equal((await json('DELETE', url, undefined, ADMIN)).status, 204);
  assert.deepEqual(await names(''), []);
  assert.equal((await json('DELETE', `${base}/namespaces/iris::tags`, undefined, ADMIN)).status, 204);
});

test('resource types, associations, and the namespace list filters and paging', async () => {
  for (const [name, rt] of [['iris::l1', 'OS::Cinder::Volume'], ['iris::l2', 'OS::Cinder::Volume'], ['iris::l3', 'OS::Nova::Server']] as const) {
    ok(await json('POST', `${base}/namespaces`, { namespace: name, visibility: 'public', resource_type_associations: [{ name: rt }] }, ADMIN), 201);
  }
  const types = ok(await json('GET', `${base}/resource_types`, undefined, A)).resource_types.map((t: any) => t.name);
  assert.ok(types.includes('OS::Cinder::Volume') && types.includes('OS::Nova::Server'), types.join());

  const assoc = `${base}/namespaces/iris::l3/resource_types`;
  const added = ok(await json('POST', assoc, { name: 'OS::Glance::Image', prefix: 'x_', properties_target: 'image' }, ADMIN), 201);
  assert.deepEqual(Object.keys(added), ['name', 'prefix', 'properties_target', 'created_at', 'updated_at']);
  expectFault(await json('POST', assoc, { name: 'OS::Glance::Image' }, ADMIN), 409,
    'The metadata definition resource-type association of resource-type=OS::Glance::Image to namespace=iris::l3 already exists.');
  assert.deepEqual(ok(await json('GET', assoc, undefined, A)).resource_type_associations.map((a: any) => a.name).sort(), ['OS::Glance::Image', 'OS::Nova::Server']);
  assert.equal((await json('DELETE', `${assoc}/OS::Glance::Image`, undefined, ADMIN)).status, 204);
  expectFault(await json('DELETE', `${assoc}/OS::Glance::Image`, undefined, ADMIN), 404, 'Failed to find resource type OS::Glance::Image to delete');

  const page = async (query: string) => ok(await json('GET', `${base}/namespaces${query}`, undefined, A));
  const volume = await page('?resource_types=OS::Cinder::Volume&sort_key=namespace&sort_dir=asc');
  assert.deepEqual(volume.namespaces.map((n: any) => n.namespace), ['iris::l1', 'iris::l2']);
  assert.deepEqual(volume.namespaces[0].resource_type_associations.map((a: any) => a.name), ['OS::Cinder::Volume']);
  const first = await page('?resource_types=OS::Cinder::Volume,OS::Nova::Server&sort_key=namespace&sort_dir=asc&limit=2');
  assert.deepEqual(first.namespaces.map((n: any) => n.namespace), ['iris::l1', 'iris::l2']);
  assert.equal(first.first, '/v2/metadefs/namespaces?resource_types=OS%3A%3ACinder%3A%3AVolume%2COS%3A%3ANova%3A%3AServer&sort_key=namespace&sort_dir=asc&limit=2');
  assert.equal(first.next, `${first.first}&marker=iris%3A%3Al2`);
  const second = ok(await json('GET', `${iris.baseUrl}${first.next}`, undefined, A));
  assert.deepEqual(second.namespaces.map((n: any) => n.namespace), ['iris::l3']);
  assert.equal(second.next, undefined);
  expectFault(await json('GET', `${base}/namespaces?visibility=shared`, undefined, A), 400, 'Invalid visibility value: shared');
  expectFault(await json('GET', `${base}/namespaces?limit=-1`, undefined, A), 400, 'limit param must be positive');
  expectFault(await json('GET', `${base}/namespaces?marker=nope`, undefined, A), 404, 'Metadata definition namespace=nope was not found.');
  for (const name of ['iris::l1', 'iris::l2', 'iris::l3']) assert.equal((await json('DELETE', `${base}/namespaces/${name}`, undefined, ADMIN)).status, 204);
});
