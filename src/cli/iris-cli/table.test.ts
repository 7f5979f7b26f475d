import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable } from './table.js';
import { wrapLine } from './text-wrap.js';

test('an empty list table still has its header box (as glanceclient prints it)', () => {
  assert.equal(renderTable(['ID', 'Name'], []), '+----+------+\n| ID | Name |\n+----+------+\n+----+------+\n');
});

test('multi-line cells and wrapping at a maximum width', () => {
  const out = renderTable(['ID', 'Name'], [['a b c d-e-f ghij', 'x\ny']], { maxWidth: 5 });
  assert.equal(
    out,
    ['+-------+------+', '| ID    | Name |', '+-------+------+', '| a b c | x    |', '| d-e-f | y    |', '| ghij  |      |', '+-------+------+', ''].join('\n'),
  );
});

test('a header wider than the limit keeps its column unwrapped', () => {
  const out = renderTable(['Property', 'Value'], [['checksum', '82e0e5499dee4147']], { maxWidth: 7 });
  assert.match(out, /\| checksum \| 82e0e54 \|\n\|          \| 99dee41 \|\n\|          \| 47      \|/);
});

test('textwrap rules: spaces, hyphens after two letters, long words at their last hyphen', () => {
  assert.deepEqual(wrapLine('aaa bbb ccc ddd-eee-fff-ggg hhhhhhhhhhhhhhhhhhhhhhhhh', 10), [
    'aaa bbb',
    'ccc ddd-',
    'eee-fff-',
    'ggg hhhhhh',
    'hhhhhhhhhh',
    'hhhhhhhhh',
  ]);
  assert.deepEqual(wrapLine('1d657c80-b7eb-4da5-b9c9-a328a320319a', 30), ['1d657c80-b7eb-4da5-b9c9-', 'a328a320319a']);
  assert.deepEqual(wrapLine('  lead  and   trailing  ', 10), ['  lead', 'and', 'trailing']);
});
