import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNormalizer } from './normalize.js';

const A = '0b4c5e2a-1111-4222-8333-944455556666';
const B = 'AAAAAAAA-1111-4222-8333-944455556666';
const ZERO = '00000000-0000-0000-0000-000000000000';

test('ids by first appearance (case-insensitive), zero id kept, base URL and request ids', () => {
  const n = createNormalizer('http://127.0.0.1:9292');
  assert.equal(n.text(`http://127.0.0.1:9292/v2/images/${A}`), '<BASE>/v2/images/<ID-1>');
  assert.equal(n.text(`${B} ${A} ${B.toLowerCase()} ${ZERO}`), `<ID-2> <ID-1> <ID-2> ${ZERO}`);
  assert.equal(n.text(`req-${A}`), 'req-<REQ>');
});

test("only Glance's time shape becomes <TIME>; other shapes stay visible", () => {
  const n = createNormalizer('http://h:1');
  assert.equal(n.text('2024-05-06T07:08:09Z'), '<TIME>');
  assert.equal(n.text('2024-05-06T07:08:09.123Z'), '<TIME 9999-99-99T99:99:99.999Z>');
});

test('JSON: strings normalised deeply, tags sorted, other lists kept in order', () => {
  const n = createNormalizer('http://h:1');
  assert.deepEqual(n.json({ id: A, tags: ['b', 'a'], images: [{ tags: ['z', 'y'] }], other: ['b', 'a'] }), {
    id: '<ID-1>',
    tags: ['a', 'b'],
    images: [{ tags: ['y', 'z'] }],
    other: ['b', 'a'],
  });
});
