import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Difference } from './compare.js';
import { classify, parseKnownDifferences } from './known-differences.js';
import { REPO_ROOT } from '../helpers/iris-server.js';

const DOC = ['text', '```conformance', '- case: range/*', '  field: status', '  glance: 500', '  iris: 4*', '  why: w1', '', '- case: x', '  field: *', '  why: w2', '```', 'more'].join('\n');

function diff(c: string, field: string, peer: string, iris: string): Difference {
  return { case: c, request: 'GET /', field, peer, iris };
}

test('parses the block; globs on case, field and values; reports stale entries', () => {
  const entries = parseKnownDifferences(DOC);
  assert.deepEqual(
    entries.map((e) => [e.case, e.field, e.glance, e.iris, e.why, e.line]),
    [
      ['range/*', 'status', '500', '4*', 'w1', 3],
      ['x', '*', undefined, undefined, 'w2', 9],
    ],
  );
  const result = classify(
    [diff('range/a', 'status', '500', '416'), diff('range/b', 'status', '500', '200'), diff('y', 'status', '1', '2')],
    entries,
  );
  assert.deepEqual(result.intended.map((i) => i.difference.case), ['range/a']);
  assert.deepEqual(result.unexpected.map((d) => d.case), ['range/b', 'y']);
  assert.deepEqual(result.stale.map((e) => e.case), ['x']);
});

test('a malformed block is an error, not an empty list', () => {
  assert.throws(() => parseKnownDifferences('no block'), /no ```conformance block/);
  assert.throws(() => parseKnownDifferences('```conformance\n- case: a\n  why: b\n```'), /lacks "field"/);
  assert.throws(() => parseKnownDifferences('```conformance\n- case: a\n  colour: b\n```'), /unknown key/);
  assert.throws(() => parseKnownDifferences('```conformance\n- case: a\n'), /not closed/);
});

test('docs/conformance.md parses', () => {
  const entries = parseKnownDifferences(readFileSync(join(REPO_ROOT, 'docs/conformance.md'), 'utf8'));
  assert.ok(entries.length > 0);
});
