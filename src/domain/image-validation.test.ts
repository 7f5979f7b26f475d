import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Forbidden, Invalid } from './errors.js';
import { DEFAULT_CONTAINER_FORMATS, DEFAULT_DISK_FORMATS, imageSchema, memberSchema } from './image-schemas.js';
import {
  validateAgainstSchema,
  validateImage,
} from './image-validation.js';
import { pyPformat, pyRepr, pyStr } from './py-format.js';

const schema = imageSchema({ diskFormats: DEFAULT_DISK_FORMATS, containerFormats: DEFAULT_CONTAINER_FORMATS });
const PREFIX = "Provided object does not match schema 'image': ";

/** The reason part of the Invalid thrown for `doc`. */
function reason(doc: unknown): string {
  try {
    validateImage(doc, schema);
  } catch (error) {
    assert.ok(error instanceof Invalid);
    assert.ok(error.message.startsWith(PREFIX), error.message);
    return error.message.slice(PREFIX.length);
  }
  assert.fail('expected Invalid');
}

// Expected texts below are str(best_match(error)) from python3-jsonschema 4.10.3, the
// library Glance 25.1.0 runs with; the peer sends the same text in its 400 bodies.

test('valid documents pass', () => {
  validateImage({}, schema);
  validateImage(
    {
      id: 'ABCDEF01-2345-6789-abcd-ef0123456789',
      name: null,
      disk_format: 'qcow2',
      container_format: null,
      tags: ['a', ''],
      min_ram: 1,
      kernel_id: null,
      hw_arch: 'x86_64',
      locations: [{ url: 'file:///x', metadata: {} }],
    },
    schema,
  );
});

test('enum: the peer transcript text for a bad disk_format', () => {
  // Peer: 400 (transcript #14).
  assert.equal(
    reason({ name: 'x', disk_format: 'floppy' }),
    "'floppy' is not one of [None, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']\n\n" +
      "Failed validating 'enum' in schema['properties']['disk_format']:\n" +
      "    {'description': 'Format of the disk',\n" +
      "     'enum': [None,\n" +
      "              'ami',\n              'ari',\n              'aki',\n              'vhd',\n" +
      "              'vhdx',\n              'vmdk',\n              'raw',\n              'qcow2',\n" +
      "              'vdi',\n              'iso',\n              'ploop'],\n" +
      "     'type': ['null', 'string']}\n\n" +
      "On instance['disk_format']:\n    'floppy'",
  );
});

test('additionalProperties: extra property values must be strings', () => {
  // Peer: 400 (transcript #15).
  assert.equal(
    reason({ name: 'x', hw_cpu: 4 }),
    "4 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n" +
      "    {'type': 'string'}\n\nOn instance['hw_cpu']:\n    4",
  );
  assert.match(reason({ hw: null }), /^None is not of type 'string'/);
  assert.match(reason({ hw: true }), /^True is not of type 'string'/);
});

test('type lists, pattern, maxLength, items', () => {
  assert.match(reason({ name: 5 }), /^5 is not of type 'null', 'string'\n/);
  assert.match(reason({ id: 'not-a-uuid' }), /^'not-a-uuid' does not match '\^\(\[0-9a-fA-F\]\)\{8\}/);
  assert.match(reason({ name: 'n'.repeat(256) }), /^'n{256}' is too long\n/);
  assert.equal(
    reason({ tags: [1] }),
    "1 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['tags']['items']:\n" +
      "    {'maxLength': 255, 'type': 'string'}\n\nOn instance['tags'][0]:\n    1",
  );
  assert.match(reason({ min_ram: 1.5 }), /^1\.5 is not of type 'integer'/);
  assert.match(reason({ min_ram: '1' }), /^'1' is not of type 'integer'/);
  assert.match(reason({ protected: 'true' }), /^'true' is not of type 'boolean'/);
});

test('maxLength counts code points like Python', () => {
  validateImage({ name: '😀'.repeat(255) }, schema);
  assert.match(reason({ name: '😀'.repeat(256) }), /is too long/);
});

test('pattern `$` also matches before a final newline, as in Python re', () => {
  validateImage({ kernel_id: '01234567-89ab-cdef-0123-456789abcdef\n' }, schema);
});

test('required and nested paths inside locations', () => {
  assert.equal(
    reason({ locations: [{ url: 'u', metadata: {}, validation_data: { checksum: 'abc', os_hash_algo: 'x' } }] }),
    "'os_hash_value' is a required property\n\n" +
      "Failed validating 'required' in schema['properties']['locations']['items']['properties']['validation_data']:\n" +
      "    {'additionalProperties': False,\n" +
      "     'description': 'Values to be used to populate the corresponding image '\n" +
      "                    \"properties. If the image status is not 'queued', \"\n" +
      "                    'values must exactly match those already contained in '\n" +
      "                    'the image properties.',\n" +
      "     'properties': {'checksum': {'maxLength': 32,\n" +
      "                                 'minLength': 32,\n" +
      "                                 'type': 'string'},\n" +
      "                    'os_hash_algo': {'maxLength': 64, 'type': 'string'},\n" +
      "                    'os_hash_value': {'maxLength': 128, 'type': 'string'}},\n" +
      "     'required': ['os_hash_algo', 'os_hash_value'],\n" +
      "     'type': 'object',\n" +
      "     'writeOnly': True}\n\n" +
      "On instance['locations'][0]['validation_data']:\n" +
      "    {'checksum': 'abc', 'os_hash_algo': 'x'}",
  );
  assert.match(
    reason({ locations: [{ url: 'u', metadata: {}, validation_data: { os_hash_algo: 'x', os_hash_value: 'y', b: 1, a: 2 } }] }),
    /^Additional properties are not allowed \('a', 'b' were unexpected\)/,
  );
  assert.match(reason({ locations: ['x'] }), /^'x' is not of type 'object'/);
});

test('best match: shallowest error first, then a type mismatch over other keywords', () => {
  // tags[0] is deeper than disk_format, so disk_format is reported.
  assert.match(reason({ tags: [1], disk_format: 'floppy' }), /^'floppy' is not one of/);
  // Same depth: a wrong type (hw) beats an enum miss on a well-typed value.
  assert.match(reason({ container_format: 'vhd', hw: 4 }), /^4 is not of type 'string'/);
  // Same depth, same kind: the first in schema order wins.
  assert.match(reason({ disk_format: 'floppy', container_format: 'vhd' }), /^'vhd' is not one of/);
  // A value failing both type and enum reports the type (first in the property's schema).
  assert.match(reason({ disk_format: 5 }), /^5 is not of type 'null', 'string'/);
});

test('instance reprs use insertion order, pformat sorts keys', () => {
  assert.equal(
    reason({ name: { z: 1, a: 2 } }),
    "{'z': 1, 'a': 2} is not of type 'null', 'string'\n\n" +
      "Failed validating 'type' in schema['properties']['name']:\n" +
      "    {'description': 'Descriptive name for the image',\n" +
      "     'maxLength': 255,\n" +
      "     'type': ['null', 'string']}\n\n" +
      "On instance['name']:\n    {'a': 2, 'z': 1}",
  );
});

test('long strings wrap like pprint', () => {
  assert.equal(
    reason({ min_disk: 'long string '.repeat(10) }).split('On instance')[1],
    "['min_disk']:\n" +
      "    ('long string long string long string long string long string long '\n" +
      "     'string long string long string long string long string ')",
  );
});

test('pyRepr follows CPython', () => {
  assert.equal(pyRepr(null), 'None');
  assert.equal(pyRepr([true, false, 1, 0.1, -2.5, 1.5e20, 1e-7]), '[True, False, 1, 0.1, -2.5, 1.5e+20, 1e-07]');
  assert.equal(pyRepr("it's"), '"it\'s"');
  assert.equal(pyRepr('q\'"'), "'q\\'\"'");
  assert.equal(pyRepr('é\u2028\u0000\t\u00a0😀'), "'é\\u2028\\x00\\t\\xa0😀'");
  assert.equal(pyRepr({ b: [1], a: 'x' }), "{'b': [1], 'a': 'x'}");
  assert.equal(pyStr('x'), 'x');
  assert.equal(pyStr(5), '5');
  assert.equal(pyPformat({ b: 1, a: 2 }), "{'a': 2, 'b': 1}");
});

test('validateAgainstSchema names the schema in the message', () => {
  assert.throws(
    () => validateAgainstSchema({ status: 'x' }, memberSchema()),
    (e: unknown) => e instanceof Invalid && e.message.startsWith("Provided object does not match schema 'member': 'x' is not one of"),
  );
});

