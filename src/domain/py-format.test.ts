import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pyJsonDumps, pyPformat, pyRepr, pyStr } from './py-format.js';

// Every function is checked against Python itself: each case (JSON text) goes to
// /usr/bin/python3, which loads it with json.loads and prints repr, str, pprint.pformat
// (width 72, as jsonschema uses it) and json.dumps. Cases avoid what JSON.parse cannot keep
// apart: `1.0` (a float in Python, 1 here) and integers beyond 2^53 (see py-format.ts).
const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, pprint, sys
out = []
for text in json.load(sys.stdin):
    v = json.loads(text)
    out.append([repr(v), str(v), pprint.pformat(v, width=72), json.dumps(v)])
json.dump(out, sys.stdout)
`;

const CASES: readonly string[] = [
  'null',
  'true',
  'false',
  '0',
  '-17',
  '9007199254740991',
  '1.5',
  '-0.25',
  '0.1',
  '1e-7',
  '0.0001',
  '1e16',
  '1.5e300',
  '123456789.123',
  '""',
  '"plain"',
  `"it's"`,
  '"say \\"hi\\""',
  `"both ' and \\""`,
  '"back\\\\slash"',
  '"tab\\tnew\\nline\\rret"',
  '"\\u0000\\u001f\\u007f\\u0085\\u00a0"',
  '"caf\\u00e9 \\u4e2d\\u6587"',
  '"\\u200b\\u2028\\ufeff"',
  '"\\ud83d\\ude00 emoji"',
  '[]',
  '{}',
  '[1, "a", null, true, [2, {"k": false}]]',
  '{"b": 1, "a": [1, 2], "C": {"z": null, "y": "x"}}',
  '{"\\u00e9": 1, "e": 2, "\\ud83d\\ude00": 3, "\\uffff": 4}',
  // Long enough that pprint breaks lines: nested dicts, lists and a long string.
  '{"type": "object", "properties": {"name": {"type": ["null", "string"], "maxLength": 255}, "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."}}}',
  '["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1]',
  '"The quick brown fox jumps over the lazy dog, then the lazy dog sleeps on in the sun all day long."',
  '{"description": "The quick brown fox jumps over the lazy dog, then it sleeps on\\nin the sun all day long and the next."}',
  // json.dumps's two paths: V8's serializer re-spaced, and the float fallback (also taken when
  // a string merely looks like a float after a separator).
  '{"a": [], "b": {}, "c": [[], {"d": [1, -2]}], "e": "x, 1.5: [3e4", "f": "line\\nbreak, y"}',
  '{"size": 1, "ratio": 0.5, "tiny": [2.5e-9]}',
  '{"timestamp": "2026-12-06 22:37:52.931000", "n": [1, 2]}',
];

function python(cases: readonly string[]): string[][] | string {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const run = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (run.error) return `${PYTHON} did not run: ${run.error.message}`;
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

test("pyRepr, pyStr, pyPformat and pyJsonDumps give Python's own text", (t) => {
  const expected = python(CASES);
  if (typeof expected === 'string') {
    const reason = `cannot compare with Python: ${expected}`;
    if (process.env.CI === 'true') assert.fail(reason);
    console.log(`# SKIPPED py-format against Python: ${reason}`);
    t.skip(reason);
    return;
  }
  CASES.forEach((text, i) => {
    const value: unknown = JSON.parse(text);
    const [repr, str, pformat, dumps] = expected[i]!;
    assert.equal(pyRepr(value), repr, `repr(${text})`);
    assert.equal(pyStr(value), str, `str(${text})`);
    assert.equal(pyPformat(value), pformat, `pformat(${text})`);
    assert.equal(pyJsonDumps(value), dumps, `json.dumps(${text})`);
  });
});

test('undefined is None at the top and left out of objects, as JSON leaves it out', () => {
  assert.equal(pyRepr(undefined), 'None');
  assert.equal(pyStr({ a: undefined, b: 1 }), "{'b': 1}");
  assert.equal(pyJsonDumps({ a: undefined, b: [undefined] }), '{"b": [null]}');
});
