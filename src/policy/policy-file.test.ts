import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicyText, PolicyFileError, readPolicyFile } from './policy-file.js';
import { findPolicyFile } from './policy-from-config.js';
import { loadPolicyRules } from './rule-policy.js';

test('YAML and JSON files give the same rules', () => {
  const yaml = parsePolicyText('"publicize_image": "role:admin"\nget_image: ""\n# a comment\n', 'p.yaml');
  const json = parsePolicyText('{"publicize_image": "role:admin", "get_image": ""}', 'p.json');
  assert.deepEqual([...yaml], [...json]);
  assert.deepEqual([...yaml], [['publicize_image', 'role:admin'], ['get_image', '']]);
});

test('an empty file has no rules', () => {
  assert.equal(parsePolicyText('', 'p.yaml').size, 0);
  assert.equal(parsePolicyText('# only comments\n', 'p.yaml').size, 0);
});

test("oslo's list-of-lists form becomes the text form", () => {
  const rules = parsePolicyText(
    JSON.stringify({ a: [['role:admin'], ['role:member', 'project_id:%(owner)s']], b: [], c: [[]], d: ['role:x'] }),
    'p.json',
  );
  assert.equal(rules.get('a'), 'role:admin or (role:member and project_id:%(owner)s)');
  assert.equal(rules.get('b'), '@');
  assert.equal(rules.get('c'), '!');
  assert.equal(rules.get('d'), 'role:x');
});

test('errors name the file, the rule and the reason', () => {
  const cases: [string, RegExp][] = [
    ['get_image: "role:admin or"', /p\.yaml, rule "get_image": the rule ends where a check was expected/],
    ['get_image: "role:admin and (role:member"', /rule "get_image": a "\(" is not closed/],
    ['- role:admin', /must be a mapping/],
    ['"just a string"', /must be a mapping/],
    ['get_image:\n', /rule "get_image": the rule is empty/],
    ['get_image: 3', /must be a string/],
    ['get_image: role:a\nget_image: role:b\n', /neither valid JSON nor valid YAML/],
    ['get_image: [unclosed', /neither valid JSON nor valid YAML/],
    ['{"get_image": [["role:a or role:b"]]}', /single checks/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePolicyText(text, 'p.yaml'), (e: unknown) => e instanceof PolicyFileError && message.test(e.message), text);
  }
});

test('reading: a missing file is an error; a good file loads over the defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-policy-'));
  try {
    assert.throws(() => readPolicyFile(join(dir, 'nope.yaml')), /does not exist/);
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, 'publicize_image: "role:admin or role:publisher"\n');
    const rules = loadPolicyRules({ enforceNewDefaults: false, policyFile: path });
    assert.equal(rules.texts.get('publicize_image'), 'role:admin or role:publisher');
    assert.ok(rules.check('publicize_image', {}, { roles: ['publisher'] }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cycle of rules, or a different context_is_admin, stops the start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-policy-'));
  try {
    const cyclic = join(dir, 'cyclic.yaml');
    writeFileSync(cyclic, 'a: rule:b\nb: "role:x or rule:a"\n');
    assert.throws(() => loadPolicyRules({ enforceNewDefaults: false, policyFile: cyclic }), /cycle: a -> b -> a/);
    const admin = join(dir, 'admin.yaml');
    writeFileSync(admin, 'context_is_admin: "role:admin or role:superuser"\n');
    assert.throws(() => loadPolicyRules({ enforceNewDefaults: false, policyFile: admin }), /context_is_admin/);
    writeFileSync(admin, 'context_is_admin: "role:admin"\n');
    assert.doesNotThrow(() => loadPolicyRules({ enforceNewDefaults: false, policyFile: admin }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finding the policy file: beside the config files, then the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-policy-'));
  try {
    // Default name, found nowhere: no file, no error.
    assert.equal(findPolicyFile('policy.yaml', [join(dir, 'iris-api.conf')], join(dir, 'elsewhere')), null);
    writeFileSync(join(dir, 'policy.yaml'), '');
    assert.equal(findPolicyFile('policy.yaml', [join(dir, 'iris-api.conf')], '/'), join(dir, 'policy.yaml'));
    // An explicit name must exist.
    assert.throws(() => findPolicyFile('custom.yaml', [join(dir, 'iris-api.conf')], dir), /was not found/);
    assert.throws(() => findPolicyFile(join(dir, 'custom.yaml'), [], dir), /custom.yaml \(\[oslo_policy\] policy_file\) was not found$/);
    writeFileSync(join(dir, 'custom.yaml'), '');
    assert.equal(findPolicyFile('custom.yaml', [], dir), join(dir, 'custom.yaml'));
    assert.equal(findPolicyFile('', [], dir), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
