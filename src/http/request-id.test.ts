import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globalRequestId } from './request-id.js';

test("globalRequestId: oslo.middleware's ID_FORMAT only (req- and a lower-case UUID)", () => {
  const id = 'req-0b3c5a1e-7d2f-4c8e-9a6b-1f0e2d3c4b5a';
  assert.equal(globalRequestId({ 'x-openstack-request-id': id }), id);
  assert.equal(globalRequestId({ 'x-openstack-request-id': [id, 'req-other'] }), id);
  for (const bad of [undefined, '', id.toUpperCase(), `req-${id.slice(4).toUpperCase()}`, id.slice(4), `${id}0`, ` ${id}`, 'req-0b3c5a1e7d2f4c8e9a6b1f0e2d3c4b5a']) {
    assert.equal(globalRequestId({ 'x-openstack-request-id': bad }), null, String(bad));
  }
});
