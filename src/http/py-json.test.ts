import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pyJson } from './py-json.js';

test('Python json.dumps layout, round-trips through JSON.parse', () => {
  const v = { a: 1, b: [1, 'x', null, true], c: { d: 'é"\n' }, e: undefined };
  assert.equal(pyJson(v), '{"a": 1, "b": [1, "x", null, true], "c": {"d": "é\\"\\n"}}');
  assert.deepEqual(JSON.parse(pyJson(v)), { a: 1, b: [1, 'x', null, true], c: { d: 'é"\n' } });
  assert.equal(pyJson([]), '[]');
  assert.equal(pyJson({}), '{}');
});
