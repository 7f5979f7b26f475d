import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Forbidden, Invalid, NotFound } from './errors.js';
import type { IrisError } from './errors.js';
import type { Image } from './image.js';
import { applyPatch, parsePatch, type PatchDialect } from './image-patch.js';
import type { PatchAuthorization, PatchOp, PatchOptions } from './image-patch.js';
import { DEFAULT_CONTAINER_FORMATS, DEFAULT_DISK_FORMATS } from './image-schemas.js';

// Statuses noted "peer" were observed on the Glance 25.1.0 peer at 127.0.0.1:9293 with
// PATCH /v2/images/{id} as the unauthenticated admin, on an image created with
// {"name": "pt", "foo": "bar", "tags": ["x"], "disk_format": "raw", "container_format": "bare"}
// (queued unless stated). "detail" marks replies whose message follows webob's stock
// explanation ("Access was denied…" / "There was a conflict…").

// The dialects of the two media types (src/http/patch-media-type.ts maps the Content-Type).
const V21: PatchDialect = 10;
const V20: PatchDialect = 4;
const formats = { diskFormats: DEFAULT_DISK_FORMATS, containerFormats: DEFAULT_CONTAINER_FORMATS };
const admin: PatchOptions = { ...formats, isAdmin: true };

function image(overrides: Partial<Image> = {}): Image {
  return {
    id: '0e46b078-b1f2-4809-bfd8-0bc8da488d66',
    name: 'pt',
    status: 'queued',
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: null,
    size: null,
    virtual_size: null,
    disk_format: 'raw',
    container_format: 'bare',
    min_ram: 0,
    min_disk: 0,
    created_at: new Date('2026-01-01T00:00:00Z'),
    updated_at: new Date('2026-01-01T00:00:00Z'),
    tags: ['x'],
    properties: { foo: 'bar' },
    locations: [],
    ...overrides,
  };
}

/** parsePatch (v2.1 unless given) + applyPatch as admin. */
function patch(body: unknown, base: Image = image(), dialect = V21, opts: PatchOptions = admin) {
  return applyPatch(base, parsePatch(dialect, body, formats), opts);
}

function expectError(
  run: () => unknown,
  type: new (message: string) => IrisError,
  message: string | RegExp,
  detail = false,
): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    // The checks Glance raises in webob's detail style are the ones the error names.
      assert.equal(error.check !== undefined, detail, 'Glance check named (fault style)');
    return true;
  });
}

const op = (o: string, path: string, value?: unknown): Record<string, unknown> =>
  value === undefined ? { op: o, path } : { op: o, path, value };

// ---------------------------------------------------------------- body shape --

test('the body must be an array of objects', () => {
  // Peer: object -> 400 (transcript #55); scalars -> 400 from the JSON deserializer.
  expectError(() => parsePatch(V21, op('replace', '/name', 'y')), Invalid, 'Request body must be a JSON array of operation objects.');
  expectError(() => parsePatch(V21, 5), Invalid, 'Unexpected body type. Expected list/dict.');
  expectError(() => parsePatch(V21, null), Invalid, 'Unexpected body type. Expected list/dict.');
  expectError(() => parsePatch(V21, 'x'), Invalid, 'Unexpected body type. Expected list/dict.');
  expectError(() => parsePatch(V21, undefined), Invalid, 'Body expected in request.');
  // Peer: [5] and ["x"] -> 400.
  expectError(() => parsePatch(V21, [5]), Invalid, 'Operations must be JSON objects.');
  expectError(() => parsePatch(V21, ['x']), Invalid, 'Operations must be JSON objects.');
  // Peer: [] -> 200, nothing changes.
  assert.deepEqual(parsePatch(V21, []), []);
});

// ---------------------------------------------------------------- v2.1 ops --

test('v2.1 operations: add, replace, remove only', () => {
  // Peer: 400 for each.
  const available = 'It must be one of the following: add, remove, replace.';
  expectError(() => parsePatch(V21, [{ path: '/name', value: 'n' }]), Invalid, `Unable to find \`op\` in JSON Schema change. ${available}`);
  expectError(() => parsePatch(V21, [op(null as unknown as string, '/name', 'n')]), Invalid, /^Unable to find `op`/);
  expectError(() => parsePatch(V21, [op('frobnicate', '/name', 'y')]), Invalid, `Invalid operation: \`frobnicate\`. ${available}`);
  for (const name of ['move', 'copy', 'test']) {
    expectError(() => parsePatch(V21, [{ op: name, from: '/name', path: '/x', value: 'n' }]), Invalid, `Invalid operation: \`${name}\`. ${available}`);
  }
  expectError(() => parsePatch(V21, [op(5 as unknown as string, '/name', 'n')]), Invalid, /^Invalid operation: `5`\./);
  expectError(() => parsePatch(V21, [{ op: ['add'], path: '/name', value: 'n' }]), Invalid, /^Invalid operation: `\['add'\]`\./);
  expectError(() => parsePatch(V21, [{ op: 'add', value: 'n' }]), Invalid, "Unable to find 'path' in JSON Schema change");
  // Peer: 500 for a non-string path; Iris: 400.
  expectError(() => parsePatch(V21, [{ op: 'add', path: 5, value: 'n' }]), Invalid, /not a string/);
});

test('add and replace need a value (null is a value)', () => {
  // Peer: 400.
  expectError(() => parsePatch(V21, [op('add', '/name')]), Invalid, 'Operation "add" requires a member named "value".');
  expectError(() => parsePatch(V20, [{ replace: '/name' }]), Invalid, 'Operation "replace" requires a member named "value".');
  // Peer: replace /name null -> 200, name null.
  assert.equal(patch([op('replace', '/name', null)]).image.name, null);
  // remove needs none.
  assert.deepEqual(parsePatch(V21, [op('remove', '/foo')]), [{ op: 'remove', path: ['foo'], jsonSchemaVersion: 10 }]);
});

// ---------------------------------------------------------------- pointers --

test('JSON pointers: Glance validation messages', () => {
  // Peer: 400 for each.
  expectError(() => parsePatch(V21, [op('add', 'name', 'n')]), Invalid, 'Pointer `name` does not start with "/".');
  expectError(() => parsePatch(V21, [op('add', '/a/ /b', 'n')]), Invalid, 'Pointer `/a/ /b` contains adjacent "/".');
  expectError(() => parsePatch(V21, [op('add', '/name/', 'n')]), Invalid, 'Pointer `/name/` end with "/".');
  expectError(() => parsePatch(V21, [op('add', '/ / ', 'n')]), Invalid, 'Pointer `/ / ` does not contains valid token.');
  expectError(() => parsePatch(V21, [op('add', '/a~2b', 'n')]), Invalid, 'Pointer `/a~2b` contains "~" not part of a recognized escape sequence.');
  expectError(() => parsePatch(V21, [op('add', '/ab~', 'n')]), Invalid, /contains "~" not part/);
});

test('JSON pointers: decoding keeps Glance leniencies', () => {
  const path = (pointer: string): readonly string[] | undefined => parsePatch(V21, [op('add', pointer, 'n')])[0]?.path;
  // Peer: 200 and the property "a/b~c~1" exists afterwards.
  assert.deepEqual(path('/a~1b~0c~01'), ['a/b~c~1']);
  // Peer: "//name" sets name (leading slashes dropped).
  assert.deepEqual(path('//name'), ['name']);
  // Peer: segments are whitespace-stripped; "/" and "/ " address the empty name.
  assert.deepEqual(path('/ spaced '), ['spaced']);
  assert.deepEqual(path('/'), ['']);
  assert.deepEqual(path('/ '), ['']);
  // Peer: "/ status" is the read-only status -> 403.
  expectError(() => parsePatch(V21, [op('add', '/ status', 'n')]), Forbidden, "Attribute 'status' is read-only.");
});

test('path depth: one segment, except /locations/N for add and remove', () => {
  // Peer: 400 for each (transcript #60 for /a/b).
  expectError(() => parsePatch(V21, [op('add', '/a/b', 'v')]), Invalid, "Invalid JSON pointer for this resource: '/a/b'");
  expectError(() => parsePatch(V21, [op('add', '/tags/-', 'y')]), Invalid, "Invalid JSON pointer for this resource: '/tags/-'");
  expectError(() => parsePatch(V21, [op('replace', '/tags/0', 'y')]), Invalid, "Invalid JSON pointer for this resource: '/tags/0'");
  expectError(() => parsePatch(V21, [op('remove', '/tags/0')]), Invalid, "Invalid JSON pointer for this resource: '/tags/0'");
  expectError(() => parsePatch(V21, [op('add', '/locations', [])]), Invalid, "Invalid JSON pointer for this resource: '/locations'");
  expectError(() => parsePatch(V21, [op('remove', '/locations')]), Invalid, "Invalid JSON pointer for this resource: '/locations'");
  expectError(() => parsePatch(V21, [op('replace', '/locations/0', {})]), Invalid, "Invalid JSON pointer for this resource: '/locations/0'");
  // The message joins decoded segments.
  expectError(() => parsePatch(V21, [op('add', '/a~1b/c', 'v')]), Invalid, "Invalid JSON pointer for this resource: '/a/b/c'");
  assert.deepEqual(parsePatch(V21, [op('add', '/locations/-', { url: 'u', metadata: {} })])[0]?.path, ['locations', '-']);
});

// ---------------------------------------------------------------- read-only / reserved --

test('read-only attributes are 403 for every op', () => {
  // Peer: 403 (transcript #56), including remove and add.
  for (const name of ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size', 'direct_url', 'self', 'file', 'schema', 'id', 'os_hash_algo', 'os_hash_value']) {
    expectError(() => parsePatch(V21, [op('replace', `/${name}`, 'x')]), Forbidden, `Attribute '${name}' is read-only.`);
    expectError(() => parsePatch(V21, [op('remove', `/${name}`)]), Forbidden, `Attribute '${name}' is read-only.`);
  }
  expectError(() => parsePatch(V20, [{ remove: '/status' }]), Forbidden, "Attribute 'status' is read-only.");
  // Peer: read-only is checked before the value's schema.
  expectError(() => parsePatch(V21, [op('replace', '/size', 'not-an-int')]), Forbidden, "Attribute 'size' is read-only.");
});

test('reserved names are 403 (explanation style in PATCH)', () => {
  // Peer: 403 "Attribute 'x' is reserved." (transcript #57).
  for (const name of ['location', 'deleted', 'deleted_at', 'os_glance_foo', 'os_glancefoo']) {
    expectError(() => parsePatch(V21, [op('add', `/${name}`, 'x')]), Forbidden, `Attribute '${name}' is reserved.`);
    expectError(() => parsePatch(V21, [op('remove', `/${name}`)]), Forbidden, `Attribute '${name}' is reserved.`);
  }
});

test('`stores` is not read-only in PATCH: it becomes an extra property', () => {
  // Peer: add /stores "x" -> 200 and "stores": "x" appears on the image.
  assert.deepEqual(patch([op('add', '/stores', 'x')]).image.properties, { foo: 'bar', stores: 'x' });
});

// ---------------------------------------------------------------- schema --

test('values are validated as a one-property image, in op order, before anything applies', () => {
  // Peer: 400 for each.
  expectError(() => patch([op('add', '/hw', 5)]), Invalid, /^Provided object does not match schema 'image': 5 is not of type 'string'/);
  expectError(() => patch([op('replace', '/disk_format', 'floppy')]), Invalid, /'floppy' is not one of/);
  expectError(() => patch([op('replace', '/visibility', 'x')]), Invalid, /'x' is not one of \['community'/);
  expectError(() => patch([op('replace', '/protected', 'true')]), Invalid, /'true' is not of type 'boolean'/);
  expectError(() => patch([op('add', '/tags', 'y')]), Invalid, /'y' is not of type 'array'/);
  expectError(() => patch([op('add', '/tags', ['t'.repeat(256)])]), Invalid, /is too long/);
  expectError(() => patch([op('add', '/kernel_id', 'x')]), Invalid, /does not match/);
  expectError(() => patch([op('add', '/description', 5)]), Invalid, /5 is not of type 'string'/);
  // Peer: /locations/- values are validated as a one-element list (400 before the 403).
  expectError(() => patch([op('add', '/locations/-', { url: 'x' })]), Invalid, /'metadata' is a required property\n\nFailed validating 'required' in schema\['properties'\]\['locations'\]\['items'\]/);
  expectError(() => patch([op('add', '/locations/-', 'x')]), Invalid, /On instance\['locations'\]\[0\]/);
  // Peer: a schema error in a later op beats an apply-time conflict in an earlier one.
  expectError(() => patch([op('remove', '/nope'), op('add', '/hw', 5)]), Invalid, /is not of type 'string'/);
  // Peer: ... and so does a malformed later op.
  expectError(() => patch([op('remove', '/nope'), op('add', '/name')]), Invalid, /requires a member named "value"/);
  // Peer: earlier op's 403 beats a later op's 400.
  expectError(() => patch([op('replace', '/status', 'x'), op('add', '/name')]), Forbidden, "Attribute 'status' is read-only.");
});

test('applyPatch validates ops it did not get from parsePatch with formats', () => {
  const ops = parsePatch(V21, [op('replace', '/disk_format', 'floppy')]);
  expectError(() => applyPatch(image(), ops, admin), Invalid, /'floppy' is not one of/);
  expectError(() => applyPatch(image(), [{ op: 'remove', path: ['status'], jsonSchemaVersion: 10 }], admin), Forbidden, "Attribute 'status' is read-only.");
  expectError(() => applyPatch(image(), [{ op: 'add', path: ['a', 'b'], value: 'v', jsonSchemaVersion: 10 }], admin), Invalid, /Invalid JSON pointer/);
});

// ---------------------------------------------------------------- apply: v2.1 --

test('a multi-op patch applies in order (transcript #50)', () => {
  // Peer: 200.
  const { image: result, changed } = patch(
    [op('replace', '/name', 'renamed'), op('add', '/os_distro', 'cirros'), op('remove', '/foo'), op('replace', '/min_ram', 512)],
  );
  assert.equal(result.name, 'renamed');
  assert.equal(result.min_ram, 512);
  assert.deepEqual(result.properties, { os_distro: 'cirros' });
  assert.deepEqual([...changed], ['name', 'os_distro', 'foo', 'min_ram']);
});

test('replace or remove of a missing property is a conflict (detail style)', () => {
  // Peer: 409 "Property nonexistent does not exist." (transcript #58, #59).
  expectError(() => patch([op('remove', '/nonexistent')]), Conflict, 'Property nonexistent does not exist.', true);
  expectError(() => patch([op('replace', '/nonexistent', 'v')]), Conflict, 'Property nonexistent does not exist.', true);
  // Peer: removing twice -> 200 then 409.
  const once = patch([op('remove', '/foo')]).image;
  expectError(() => patch([op('remove', '/foo')], once), Conflict, 'Property foo does not exist.', true);
});

test('v2.1 add of an existing name replaces it', () => {
  // Peer: 200.
  assert.deepEqual(patch([op('add', '/foo', 'baz')]).image.properties, { foo: 'baz' });
  assert.equal(patch([op('add', '/name', 'n')]).image.name, 'n');
  assert.deepEqual(patch([op('replace', '/foo', 'baz')]).image.properties, { foo: 'baz' });
  // Peer: add then remove in one patch -> 200, property gone.
  assert.deepEqual(patch([op('add', '/x', '1'), op('remove', '/x')]).image.properties, { foo: 'bar' });
  // Peer: the later of two replaces wins.
  assert.equal(patch([op('replace', '/name', 'a'), op('replace', '/name', 'b')]).image.name, 'b');
});

test('core attributes cannot be removed (detail style)', () => {
  // Peer: 403 "Property name may not be removed." for each.
  for (const name of ['name', 'min_ram', 'min_disk', 'tags', 'visibility', 'protected', 'os_hidden', 'owner', 'disk_format', 'container_format', 'member']) {
    expectError(() => patch([op('remove', `/${name}`)]), Forbidden, `Property ${name} may not be removed.`, true);
  }
});

test('tags are replaced whole, duplicates collapsed', () => {
  // Peer: 200 (transcript #52); ["a","b","a"] -> a, b.
  assert.deepEqual(patch([op('replace', '/tags', ['a', 'b', 'a'])]).image.tags, ['a', 'b']);
  assert.deepEqual(patch([op('add', '/tags', [])]).image.tags, []);
});

test('min_ram and min_disk cannot go negative', () => {
  // Peer: 400 (transcript #62), explanation style; the first failing op decides.
  expectError(() => patch([op('replace', '/min_ram', -1)]), Invalid, "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value");
  expectError(() => patch([op('replace', '/min_disk', -1), op('replace', '/min_ram', -2)]), Invalid,
    "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value");
  assert.equal(patch([op('replace', '/min_ram', 0)], image({ min_ram: 5, status: 'active' })).image.min_ram, 0);
});

test('min_ram and min_disk above 2^31 - 1 are refused once all operations ran', () => {
  // Peer (port 9394): 400 "'min_ram' value out of range, must not exceed 2147483647." from
  // the save, so a later op can still bring the value back, and an op's own error wins.
  const outOfRange = (key: string): string => `'${key}' value out of range, must not exceed 2147483647.`;
  expectError(() => patch([op('replace', '/min_ram', 2147483648)]), Invalid, outOfRange('min_ram'));
  expectError(() => patch([op('add', '/min_disk', JSON.parse('9223372036854775808'))]), Invalid, outOfRange('min_disk'));
  expectError(() => patch([op('replace', '/min_ram', 2 ** 53 + 2), op('replace', '/min_disk', 2147483648)]), Invalid, outOfRange('min_disk'));
  assert.equal(patch([op('replace', '/min_ram', 2147483648), op('replace', '/min_ram', 5)]).image.min_ram, 5);
  expectError(() => patch([op('replace', '/min_ram', 2147483648), op('remove', '/nope')]), Conflict, 'Property nope does not exist.', true);
  expectError(() => patch([op('replace', '/min_ram', 1.5)]), Invalid, /^Provided object does not match schema 'image': 1\.5 is not of type 'integer'/);
  assert.equal(patch([op('replace', '/min_disk', 2147483647)]).image.min_disk, 2147483647);
});

test('disk_format / container_format change only while queued or importing', () => {
  // Peer: queued -> 200.
  const queued = patch([op('replace', '/disk_format', 'qcow2'), op('replace', '/container_format', 'ovf')]).image;
  assert.equal(queued.disk_format, 'qcow2');
  assert.equal(queued.container_format, 'ovf');
  assert.equal(patch([op('replace', '/disk_format', 'qcow2')], image({ status: 'importing' })).image.disk_format, 'qcow2');
  // Peer (active image): 403 even for the unchanged value (transcript #61).
  const active = image({ status: 'active', size: 5, checksum: '5d41402abc4b2a76b9719d911017c592' });
  expectError(() => patch([op('replace', '/disk_format', 'raw')], active), Forbidden, 'Attribute disk_format can be only replaced for a queued image.');
  expectError(() => patch([op('add', '/container_format', 'ovf')], active), Forbidden, 'Attribute container_format can be only replaced for a queued image.');
  // Peer: the schema is checked first (400).
  expectError(() => patch([op('replace', '/disk_format', 'floppy')], active), Invalid, /is not one of/);
});

test('owner: admins replace it, non-admins cannot (detail style)', () => {
  // Peer: admin -> 200; owner may be null.
  assert.equal(patch([op('replace', '/owner', 'someone')]).image.owner, 'someone');
  assert.equal(patch([op('replace', '/owner', null)], image({ owner: 'p' })).image.owner, null);
  // Peer (project A, member): 403 "Owner can't be updated by non admin.", even to the same value.
  const member: PatchOptions = { ...formats, isAdmin: false };
  const own = image({ owner: 'aaaa' });
  expectError(() => patch([op('replace', '/owner', 'aaaa')], own, V21, member), Forbidden, "Owner can't be updated by non admin.", true);
  // Peer: `add /owner` is not covered by that check (Glance then refuses at save time when the
  // image would leave the caller's sight; that is for the service).
  assert.equal(patch([op('add', '/owner', 'cccc')], own, V21, member).image.owner, 'cccc');
});

test('visibility: any valid value is applied; policy sees every op', () => {
  // Peer (admin): private -> 200; public -> 403 from policy (publicize_image), not from here.
  assert.equal(patch([op('replace', '/visibility', 'private')]).image.visibility, 'private');
  const seen: PatchAuthorization[] = [];
  const opts: PatchOptions = { ...admin, authorize: (check) => void seen.push(check) };
  const { changed } = patch([op('replace', '/visibility', 'public'), op('remove', '/foo')], image(), V21, opts);
  assert.deepEqual(seen, [
    { kind: 'property', name: 'visibility', value: 'public' },
    { kind: 'property', name: 'foo' },
  ]);
  assert.ok(changed.has('visibility'));
});

test('authorize runs before the op is applied, in op order', () => {
  const refuse: PatchOptions = {
    ...admin,
    authorize: (check) => {
      if (check.kind === 'property' && check.name === 'visibility') throw new Forbidden('You are not authorized to complete publicize_image action.');
    },
  };
  // Glance: the first op's policy refusal wins over the second op's conflict.
  expectError(() => patch([op('replace', '/visibility', 'public'), op('remove', '/nope')], image(), V21, refuse), Forbidden, /publicize_image/);
  // ... and a conflict in an earlier op wins over a later policy refusal.
  expectError(() => patch([op('remove', '/nope'), op('replace', '/visibility', 'public')], image(), V21, refuse), Conflict, /does not exist/, true);
});

test('locations are refused as with show_multiple_locations off', () => {
  // Peer: 403 for each, explanation style, regardless of image status.
  const loc = { url: 'file:///x', metadata: {} };
  expectError(() => patch([op('add', '/locations/-', loc)]), Forbidden, "It's not allowed to add locations if locations are invisible.");
  expectError(() => patch([op('add', '/locations/0', loc)]), Forbidden, "It's not allowed to add locations if locations are invisible.");
  expectError(() => patch([op('replace', '/locations', [loc])]), Forbidden, "It's not allowed to update locations if locations are invisible.");
  expectError(() => patch([op('remove', '/locations/0')], image({ status: 'active' })), Forbidden, "It's not allowed to remove locations if locations are invisible.");
  // Peer: an empty list is refused first, detail style.
  expectError(() => patch([op('replace', '/locations', [])]), Forbidden, 'Cannot set locations to empty list.', true);
  // Policy is consulted first.
  const seen: string[] = [];
  const opts: PatchOptions = { ...admin, authorize: (check) => void seen.push(check.kind) };
  assert.throws(() => patch([op('remove', '/locations/0')], image(), V21, opts), Forbidden);
  assert.deepEqual(seen, ['delete_locations']);
});

test('extra property keys have no length limit in PATCH', () => {
  // Peer: add of a 256-character key -> 200 (unlike create, which says 400).
  const key = 'k'.repeat(256);
  assert.equal(patch([op('add', `/${key}`, 'v')]).image.properties[key], 'v');
});

test('kernel_id null is accepted and unsets the property', () => {
  // Peer: add /kernel_id null -> 200 and Glance stores a NULL property; Iris cannot hold a
  // null, so the property is absent afterwards.
  const base = image({ properties: { foo: 'bar', kernel_id: '01234567-89ab-cdef-0123-456789abcdef' } });
  assert.deepEqual(patch([op('replace', '/kernel_id', null)], base).image.properties, { foo: 'bar' });
  assert.deepEqual(patch([op('add', '/kernel_id', null)]).image.properties, { foo: 'bar' });
  // Peer: replace of an absent kernel_id is still a conflict.
  expectError(() => patch([op('replace', '/kernel_id', null)]), Conflict, 'Property kernel_id does not exist.', true);
});

test('Glance internals reachable as paths', () => {
  // Peer: replace/add /member -> 200 and nothing changes.
  assert.deepEqual(patch([op('replace', '/member', 'x')]).image, image());
  // Peer: replace /image_id "x" -> 404 "No image found with ID x".
  expectError(() => patch([op('replace', '/image_id', 'x')]), NotFound, 'No image found with ID x');
  // Peer: replace /extra_properties -> 500; Iris: 400.
  expectError(() => patch([op('replace', '/extra_properties', 'x')]), Invalid, /cannot be set/);
});

// ---------------------------------------------------------------- apply: v2.0 --

test('v2.0 syntax: the op is the key', () => {
  // Peer: 200 (transcript #51).
  assert.equal(patch([{ replace: '/name', value: 'cirros-v20' }], image(), V20).image.name, 'cirros-v20');
  assert.deepEqual(patch([{ remove: '/foo' }], image(), V20).image.properties, {});
  assert.deepEqual(patch([{ add: '/newp', value: 'n' }], image(), V20).image.properties, { foo: 'bar', newp: 'n' });
  assert.deepEqual(patch([{ replace: '/tags', value: ['a'] }], image(), V20).image.tags, ['a']);
  // Peer: 409 for replace of a missing property, as in v2.1.
  expectError(() => patch([{ replace: '/nope', value: 'v' }], image(), V20), Conflict, 'Property nope does not exist.', true);
});

test('v2.0 add refuses a name that already exists (detail style)', () => {
  // Peer: 409 "Property name already present." for attributes and properties alike.
  expectError(() => patch([{ add: '/name', value: 'n' }], image(), V20), Conflict, 'Property name already present.', true);
  expectError(() => patch([{ add: '/foo', value: 'n2' }], image(), V20), Conflict, 'Property foo already present.', true);
  expectError(() => patch([{ add: '/tags', value: ['a'] }], image(), V20), Conflict, 'Property tags already present.', true);
});

test('v2.0 operation objects need exactly one of add/remove/replace', () => {
  // Peer: 400 for each.
  expectError(() => parsePatch(V20, [{ add: '/name', replace: '/name', value: 'n' }]), Invalid,
    'Operation objects must contain only one member named "add", "remove", or "replace".');
  expectError(() => parsePatch(V20, [op('add', '/name', 'n')]), Invalid,
    'Operation objects must contain exactly one member named "add", "remove", or "replace".');
  expectError(() => parsePatch(V20, [{ test: '/name', value: 'n' }]), Invalid, /exactly one member/);
  // Peer: 500 for a non-string path; Iris: 400.
  expectError(() => parsePatch(V20, [{ replace: 5, value: 'n' }]), Invalid, /not a string/);
  assert.deepEqual(parsePatch(V20, [{ add: '/a', value: 'v' }]), [{ op: 'add', path: ['a'], value: 'v', jsonSchemaVersion: 4 }]);
});

// ---------------------------------------------------------------- all or nothing --

test('all or nothing: a failing op leaves no trace, the input is never mutated', () => {
  // Peer: [add /hw3 "ok", remove /nope] -> 409 and GET shows no hw3.
  const base = image();
  const snapshot = structuredClone(base);
  expectError(() => patch([op('add', '/hw3', 'ok'), op('replace', '/name', 'x'), op('remove', '/nope')], base), Conflict, /nope/, true);
  assert.deepEqual(base, snapshot);
  // A successful patch returns a new image and leaves the input as it was.
  const { image: result } = patch([op('add', '/hw', 'v'), op('replace', '/tags', ['t']), op('replace', '/name', 'new')], base);
  assert.notEqual(result, base);
  assert.deepEqual(base, snapshot);
  assert.deepEqual(result.properties, { foo: 'bar', hw: 'v' });
  assert.deepEqual(result.tags, ['t']);
  // updated_at is the service's to set.
  assert.equal(result.updated_at, base.updated_at);
});

test('an empty patch returns an equal image and no changes', () => {
  const { image: result, changed } = applyPatch(image(), [] as PatchOp[], admin);
  assert.deepEqual(result, image());
  assert.equal(changed.size, 0);
});
