import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Forbidden, Invalid } from './errors.js';
import type { IrisError } from './errors.js';
import { parseCreateRequest } from './image-create.js';
import { DEFAULT_CONTAINER_FORMATS, DEFAULT_DISK_FORMATS } from './image-schemas.js';

// Every status noted "peer" was observed on the Glance 25.1.0 peer at 127.0.0.1:9293 with
// POST /v2/images as the unauthenticated admin. "detail" marks the Glance replies whose
// message comes after webob's stock explanation ("Access was denied to this resource.").

const opts = { diskFormats: DEFAULT_DISK_FORMATS, containerFormats: DEFAULT_CONTAINER_FORMATS };

function refused(body: unknown, type: new (message: string) => IrisError, message: string | RegExp, detail = false): void {
  assert.throws(
    () => parseCreateRequest(body, opts),
    (error: unknown) => {
      assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      // The checks Glance raises in webob's detail style are the ones the error names.
      assert.equal(error.check !== undefined, detail, 'Glance check named (fault style)');
      return true;
    },
  );
}

test('a full body is split into attributes, tags and properties', () => {
  // Peer: 201 (transcript #13).
  const request = parseCreateRequest(
    {
      id: 'ABCDEF01-2345-6789-abcd-ef0123456789',
      name: 'cirros',
      visibility: 'private',
      protected: true,
      os_hidden: false,
      disk_format: 'qcow2',
      container_format: 'bare',
      min_ram: 512,
      min_disk: 1,
      owner: 'p1',
      tags: ['t1', 'boot', 't1'],
      hw_arch: 'x86_64',
      description: 'd',
    },
    opts,
  );
  assert.deepEqual(request, {
    id: 'ABCDEF01-2345-6789-abcd-ef0123456789',
    name: 'cirros',
    visibility: 'private',
    protected: true,
    os_hidden: false,
    disk_format: 'qcow2',
    container_format: 'bare',
    min_ram: 512,
    min_disk: 1,
    owner: 'p1',
    tags: ['t1', 'boot'],
    properties: { hw_arch: 'x86_64', description: 'd' },
  });
});

test('only what the body gave is returned', () => {
  // Peer: {} -> 201 with Glance's defaults, which the service applies.
  assert.deepEqual(parseCreateRequest({}, opts), { properties: {} });
  // Peer: explicit nulls are kept (owner null, name null -> 201).
  assert.deepEqual(parseCreateRequest({ name: null, owner: null, disk_format: null }, opts), {
    name: null,
    owner: null,
    disk_format: null,
    properties: {},
  });
});

test('the body must be a JSON object', () => {
  // Peer: no body -> 400 "Body expected in request."
  refused(undefined, Invalid, 'Body expected in request.');
  // Peer: "str", 5, null -> 400 from the JSON deserializer.
  refused('str', Invalid, 'Unexpected body type. Expected list/dict.');
  refused(5, Invalid, 'Unexpected body type. Expected list/dict.');
  refused(null, Invalid, 'Unexpected body type. Expected list/dict.');
  // Peer: [] -> 500 (a list passes the deserializer and crashes later); Iris: 400 on purpose.
  refused([], Invalid, 'Request body must be a JSON object.');
});

test('direct_url, self, file, schema, stores are refused first', () => {
  // Peer: 403 for each; the order is Glance's list order, not the body's.
  refused({ name: 'p', direct_url: 'x' }, Forbidden, "Attribute 'direct_url' is read-only.");
  refused({ checksum: 'y', self: 'x' }, Forbidden, "Attribute 'self' is read-only.");
  refused({ schema: 'x', direct_url: 'y' }, Forbidden, "Attribute 'direct_url' is read-only.");
  refused({ file: 'x' }, Forbidden, "Attribute 'file' is read-only.");
  // Peer: 403 even with a schema violation elsewhere in the body.
  refused({ stores: 'x', name: 5 }, Forbidden, "Attribute 'stores' is read-only.");
});

test('schema violations are 400 and come before the other read-only checks', () => {
  // Peer: {"name":5,"status":"queued"} -> 400 schema.
  refused({ name: 5, status: 'queued' }, Invalid, /^Provided object does not match schema 'image': 5 is not of type/);
  // Peer: {"status":"bogus"} -> 400 (enum), not 403.
  refused({ status: 'bogus' }, Invalid, /'bogus' is not one of/);
  // Peer: 400 for each.
  refused({ disk_format: 'floppy' }, Invalid, /'floppy' is not one of \[None, 'ami'/);
  refused({ container_format: 'vhd' }, Invalid, /'vhd' is not one of/);
  refused({ visibility: 'galactic' }, Invalid, /'galactic' is not one of/);
  refused({ id: 'not-a-uuid' }, Invalid, /'not-a-uuid' does not match/);
  refused({ id: null }, Invalid, /None is not of type 'string'/);
  refused({ min_ram: 1.5 }, Invalid, /1\.5 is not of type 'integer'/);
  refused({ protected: 'true' }, Invalid, /'true' is not of type 'boolean'/);
  refused({ kernel_id: 'x' }, Invalid, /does not match/);
  refused({ instance_uuid: null }, Invalid, /None is not of type 'string'/);
  refused({ cinder_encryption_key_deletion_policy: 'x' }, Invalid, /is not one of \['on_image_deletion'/);
  refused({ name: 'n'.repeat(256) }, Invalid, /is too long/);
});

test('extra property values must be strings', () => {
  // Peer: {"hw":5}, {"hw":null}, {"hw":true} -> 400.
  refused({ hw: 5 }, Invalid, /^Provided object does not match schema 'image': 5 is not of type 'string'/);
  refused({ hw: null }, Invalid, /None is not of type 'string'/);
  refused({ hw: true }, Invalid, /True is not of type 'string'/);
  // Peer: {"deleted":true} -> 400: the schema runs before the reserved-name check.
  refused({ deleted: true }, Invalid, /True is not of type 'string'/);
});

test('tags: duplicates collapse, each at most 255 characters, strings only', () => {
  // Peer: ["a","a","b"] -> 201 with tags a, b.
  assert.deepEqual(parseCreateRequest({ tags: ['a', 'a', 'b'] }, opts).tags, ['a', 'b']);
  // Peer: 400 for each.
  refused({ tags: ['t'.repeat(256)] }, Invalid, /is too long\n\nFailed validating 'maxLength' in schema\['properties'\]\['tags'\]\['items'\]/);
  refused({ tags: [1] }, Invalid, /1 is not of type 'string'/);
  refused({ tags: 'a' }, Invalid, /'a' is not of type 'array'/);
  refused({ tags: null }, Invalid, /None is not of type 'array'/);
});

test('extra property keys: at most 255 characters, then reserved names, in body order', () => {
  // Peer: 256-char key -> 400; 255 -> 201.
  refused({ ['k'.repeat(256)]: 'v' }, Invalid, 'Custom property should not be greater than 255 characters.');
  assert.deepEqual(parseCreateRequest({ ['k'.repeat(255)]: 'v' }, opts).properties, { ['k'.repeat(255)]: 'v' });
  // Peer: whichever offending key comes first in the body decides.
  refused({ ['k'.repeat(256)]: 'v', os_glance_a: 'x' }, Invalid, /greater than 255/);
  refused({ os_glance_a: 'x', ['k'.repeat(256)]: 'v' }, Forbidden, "Attribute 'os_glance_a' is reserved.", true);
  // Peer: the empty key is an ordinary property (201).
  assert.deepEqual(parseCreateRequest({ '': 'v' }, opts).properties, { '': 'v' });
});

test('location, deleted, deleted_at and os_glance* are reserved (detail style)', () => {
  // Peer: 403 "Access was denied to this resource. / Attribute 'x' is reserved."
  refused({ location: 'x' }, Forbidden, "Attribute 'location' is reserved.", true);
  refused({ deleted: 'x' }, Forbidden, "Attribute 'deleted' is reserved.", true);
  refused({ deleted_at: 'x' }, Forbidden, "Attribute 'deleted_at' is reserved.", true);
  refused({ os_glance_foo: 'bar' }, Forbidden, "Attribute 'os_glance_foo' is reserved.", true);
  // Peer: the namespace is the bare prefix "os_glance".
  refused({ os_glancefoo: 'bar' }, Forbidden, "Attribute 'os_glancefoo' is reserved.", true);
  // Peer: a reserved name beats a read-only base attribute (the factory checks run later).
  refused({ os_glance_x: 'x', checksum: 'y' }, Forbidden, "Attribute 'os_glance_x' is reserved.", true);
});

test('read-only base attributes are refused by the factory, in its order', () => {
  // Peer: 403 for each (transcript #16 for checksum).
  refused({ name: 'x', checksum: 'abc' }, Forbidden, "Attribute 'checksum' is read-only.");
  refused({ created_at: 'x' }, Forbidden, "Attribute 'created_at' is read-only.");
  refused({ updated_at: 'x' }, Forbidden, "Attribute 'updated_at' is read-only.");
  refused({ status: 'queued' }, Forbidden, "Attribute 'status' is read-only.");
  refused({ size: 5 }, Forbidden, "Attribute 'size' is read-only.");
  refused({ virtual_size: 5 }, Forbidden, "Attribute 'virtual_size' is read-only.");
  // Peer: {"checksum":..,"created_at":..} -> created_at (factory order, not body order).
  refused({ checksum: 'x', created_at: 'x' }, Forbidden, "Attribute 'created_at' is read-only.");
  refused({ status: 'queued', checksum: 'x' }, Forbidden, "Attribute 'status' is read-only.");
});

test('os_hash_algo / os_hash_value are not refused: Glance stores them as extra properties', () => {
  // Peer: 201; the value lands in image_properties and GET shows the core null instead.
  assert.deepEqual(parseCreateRequest({ os_hash_algo: 'x' }, opts).properties, { os_hash_algo: 'x' });
  assert.deepEqual(parseCreateRequest({ os_hash_value: null }, opts).properties, {});
});

test('locations is reserved at create, after the schema and read-only checks', () => {
  // Peer: [] and a valid list -> 403 "Attribute 'locations' is reserved." (explanation style).
  refused({ locations: [] }, Forbidden, "Attribute 'locations' is reserved.");
  refused({ locations: [{ url: 'file:///x', metadata: {} }] }, Forbidden, "Attribute 'locations' is reserved.");
  // Peer: a malformed value -> 400 schema first.
  refused({ locations: 'x' }, Invalid, /'x' is not of type 'array'/);
  refused({ locations: [{ url: 'u' }] }, Invalid, /'metadata' is a required property/);
  // Peer: read-only wins over locations.
  refused({ locations: [], status: 'queued' }, Forbidden, "Attribute 'status' is read-only.");
});

test('min_disk and min_ram cannot be negative (min_disk checked first)', () => {
  // Peer: 400 "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value".
  refused({ min_ram: -1 }, Invalid, "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value");
  refused({ min_disk: -1, min_ram: -2 }, Invalid, "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value");
  // Peer: read-only and locations beat the negative check.
  refused({ min_ram: -1, checksum: 'x' }, Forbidden, "Attribute 'checksum' is read-only.");
  refused({ min_ram: -1, locations: [] }, Forbidden, "Attribute 'locations' is reserved.");
  assert.equal(parseCreateRequest({ min_ram: 0 }, opts).min_ram, 0);
});

test('min_disk and min_ram must fit a 4-byte INT, as Glance\'s database layer checks', () => {
  // Peer (port 9394): 400, explanation style, min_disk named first when both are too big.
  const outOfRange = (key: string): string => `'${key}' value out of range, must not exceed 2147483647.`;
  assert.equal(parseCreateRequest({ min_disk: 2147483647, min_ram: 2147483647 }, opts).min_disk, 2147483647);
  refused({ min_ram: 2147483648 }, Invalid, outOfRange('min_ram'));
  refused({ min_disk: 2147483648, min_ram: 2147483648 }, Invalid, outOfRange('min_disk'));
  // 2^63 and 2^53 + 1 (not representable: it must be refused, not rounded) and 1e10.
  refused(JSON.parse('{"min_disk": 9223372036854775808}'), Invalid, outOfRange('min_disk'));
  refused(JSON.parse('{"min_disk": 9007199254740993}'), Invalid, outOfRange('min_disk'));
  refused(JSON.parse('{"min_ram": 1e10}'), Invalid, outOfRange('min_ram'));
  // Non-integers are the schema's, negatives the setter's (peer: same texts).
  refused({ min_disk: 1.5 }, Invalid, /^Provided object does not match schema 'image': 1\.5 is not of type 'integer'/);
  refused({ min_disk: '1' }, Invalid, /^Provided object does not match schema 'image': '1' is not of type 'integer'/);
  refused({ min_disk: true }, Invalid, /^Provided object does not match schema 'image': True is not of type 'integer'/);
  refused({ min_ram: -1, min_disk: 2147483648 }, Invalid, "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value");
});

test('schema nullables for custom properties are accepted but not stored', () => {
  // Peer: {"kernel_id": null} -> 201 and Glance stores a NULL property (shown as null);
  // Iris's properties are strings, so the key is left out.
  assert.deepEqual(parseCreateRequest({ kernel_id: null }, opts).properties, {});
  assert.deepEqual(
    parseCreateRequest({ kernel_id: '01234567-89ab-cdef-0123-456789abcdef' }, opts).properties,
    { kernel_id: '01234567-89ab-cdef-0123-456789abcdef' },
  );
});

test('an id in any case is accepted as given', () => {
  // Peer: 201 with the upper-case id kept.
  assert.equal(parseCreateRequest({ id: 'ABCDEF01-2345-6789-ABCD-EF0123456789' }, opts).id, 'ABCDEF01-2345-6789-ABCD-EF0123456789');
});

test('Glance internals in a create body are ordinary properties', () => {
  // Peer: {"member":"x"} -> 201 with "member": "x" as an extra property.
  assert.deepEqual(parseCreateRequest({ member: 'x', image_id: 'y' }, opts).properties, { member: 'x', image_id: 'y' });
});

test('visibility is passed through; who may publicize is policy', () => {
  // Peer: "public" as the role-less noauth admin -> 403 from policy, not from these rules.
  assert.equal(parseCreateRequest({ visibility: 'public' }, opts).visibility, 'public');
});

test('configured formats drive the enums', () => {
  const custom = { diskFormats: ['raw'], containerFormats: ['bare'] };
  assert.equal(parseCreateRequest({ disk_format: 'raw' }, custom).disk_format, 'raw');
  assert.throws(() => parseCreateRequest({ disk_format: 'qcow2' }, custom), Invalid);
});

test('the input body is not modified', () => {
  const body = { name: 'x', tags: ['a', 'a'], hw: 'y' };
  parseCreateRequest(body, opts);
  assert.deepEqual(body, { name: 'x', tags: ['a', 'a'], hw: 'y' });
});

test('authorize runs between the deserializer rules and the factory rules', () => {
  const refusePublic = {
    ...opts,
    authorize: (request: { visibility?: string }) => {
      if (request.visibility === 'public') throw new Forbidden('You are not authorized to complete publicize_image action.');
    },
  };
  // Peer (project A, member): {"visibility":"public","checksum":"x"} and
  // {"visibility":"public","min_ram":-1} -> 403 publicize (policy before the factory).
  assert.throws(() => parseCreateRequest({ visibility: 'public', checksum: 'x' }, refusePublic), /publicize_image/);
  assert.throws(() => parseCreateRequest({ visibility: 'public', min_ram: -1 }, refusePublic), /publicize_image/);
  // Peer: {"visibility":"public","min_ram":"x"} -> 400 schema (deserializer before policy).
  assert.throws(() => parseCreateRequest({ visibility: 'public', min_ram: 'x' }, refusePublic), Invalid);
  assert.throws(() => parseCreateRequest({ visibility: 'public', os_glance_x: 'x' }, refusePublic), /is reserved/);
  // The hook sees what the caller will get back.
  let seen: unknown;
  const result = parseCreateRequest({ name: 'n', tags: ['a', 'a'] }, { ...opts, authorize: (r) => void (seen = r) });
  assert.deepEqual(seen, result);
});
