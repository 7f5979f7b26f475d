import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pyStrCell } from './py-format.js';

test("pyStrCell is Python's str(): text as is, None/True, containers as repr (glanceclient's print_dict_list)", () => {
  assert.equal(pyStrCell('Copied 0 MiB'), 'Copied 0 MiB');
  assert.equal(pyStrCell(null), 'None');
  assert.equal(pyStrCell(false), 'False');
  assert.equal(pyStrCell({ image_id: 'x', import_req: { stores: ['a'], all_stores_must_succeed: false } }), "{'image_id': 'x', 'import_req': {'stores': ['a'], 'all_stores_must_succeed': False}}");
});
