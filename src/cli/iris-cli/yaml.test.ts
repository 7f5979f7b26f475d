import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toYaml } from './yaml.js';

test('block YAML, quoting what would not read back as the same string', () => {
  assert.equal(
    toYaml({ id: 'abc-1', n: 3, ok: true, none: null, s: 'true', num: '012', when: '2024-01-01T00:00:00Z', tags: ['a', 'b: c'], empty: [], o: { k: 'v' } }),
    'id: abc-1\nn: 3\nok: true\nnone: null\ns: "true"\nnum: "012"\nwhen: "2024-01-01T00:00:00Z"\ntags:\n- a\n- "b: c"\nempty: []\no:\n  k: v\n',
  );
  assert.equal(toYaml([{ ID: 'x', Name: null }]), '- ID: x\n  Name: null\n');
  assert.equal(toYaml([]), '[]\n');
});
