import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Forbidden, ServiceUnavailable } from '../domain/errors.js';
import { faultFor } from './faults.js';
import { isDetailStyle } from './glance-fault-style.js';

test('errors that name a detail-style Glance check are rendered as webob details; others as explanations', () => {
  const reserved = new Forbidden("Attribute 'deleted' is reserved.", { check: 'create-reserved-attribute' });
  assert.equal(isDetailStyle(reserved), true);
  assert.deepEqual(faultFor(reserved), { status: 403, detail: "Attribute 'deleted' is reserved." });
  // The same text from PATCH's _validate_change is explanation style in Glance.
  const plain = new Forbidden("Attribute 'deleted' is reserved.");
  assert.equal(isDetailStyle(plain), false);
  assert.deepEqual(faultFor(plain), { status: 403, explanation: "Attribute 'deleted' is reserved." });
  assert.equal(isDetailStyle(new Conflict('Property x does not exist.', { check: 'patch-missing-property' })), true);
  assert.equal(isDetailStyle(new ServiceUnavailable('down', { check: 'keystone-unavailable' })), true);
});

test('the check is not enumerable: logged errors look as before', () => {
  const error = new Forbidden('x', { check: 'patch-empty-locations' });
  assert.equal(error.check, 'patch-empty-locations');
  assert.equal(Object.keys(error).includes('check'), false);
});
