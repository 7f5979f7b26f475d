import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPT_PATCH, patchDialectOf } from './patch-media-type.js';

const V21 = 'application/openstack-images-v2.1-json-patch';
const V20 = 'application/openstack-images-v2.0-json-patch';

test('the two json-patch media types pick their dialect; anything else is refused', () => {
  // Peer: 200 for both, and with parameters after ';'.
  assert.equal(patchDialectOf(V21), 10);
  assert.equal(patchDialectOf(`${V21}; charset=UTF-8`), 10);
  assert.equal(patchDialectOf(V20), 4);
  // Peer: 415 for application/json, with or without parameters.
  assert.equal(patchDialectOf('application/json'), undefined);
  assert.equal(patchDialectOf('application/json; charset=utf-8'), undefined);
  // Peer: 415, the comparison is case-sensitive; webob does not trim before the ';'.
  assert.equal(patchDialectOf('Application/OpenStack-Images-v2.1-JSON-Patch'), undefined);
  assert.equal(patchDialectOf(`${V21} ; charset=UTF-8`), undefined);
  assert.equal(patchDialectOf(undefined), undefined);
  assert.equal(patchDialectOf(''), undefined);
  assert.equal(ACCEPT_PATCH, `${V20}, ${V21}`);
});
