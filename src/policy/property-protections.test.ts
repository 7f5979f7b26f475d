import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveRuleTexts } from './glance-defaults.js';
import { parsePropertyProtections, PropertyProtectionError } from './property-protections.js';
import { compileRuleSet } from './rule-set.js';

const ROLES = `
# billing
[^x_billing_.*]
create = admin
read = admin, Member ,reader
update = admin
delete =

[^x_any$]
create = @
read = @
update = !
delete = !
`;

test('roles format: first matching section, any listed role, @ and !, empty = no one', () => {
  const p = parsePropertyProtections(ROLES, 'roles', 'p.conf');
  const member = { roles: ['member'] };
  assert.equal(p.allows(member, 'x_billing_code', 'read'), true, 'roles compare case-insensitively');
  assert.equal(p.allows(member, 'x_billing_code', 'create'), false);
  assert.equal(p.allows({ roles: ['ADMIN'] }, 'x_billing_code', 'create'), true);
  assert.equal(p.allows({ roles: ['admin'] }, 'x_billing_code', 'delete'), false, 'empty: no one, not even admins');
  assert.equal(p.allows(member, 'x_any', 'create'), true);
  assert.equal(p.allows({ roles: ['admin'] }, 'x_any', 'update'), false);
  assert.equal(p.allows({ roles: ['admin'] }, 'unmatched', 'read'), false, 'no section matches: refused');
  assert.equal(p.allows({ roles: [], serviceRoles: ['reader'] }, 'x_billing_code', 'read'), true, 'service roles count');
  // Sections are searched, not anchored.
  const q = parsePropertyProtections('[secret]\ncreate=@\nread=!\nupdate=@\ndelete=@\n', 'roles', 'q.conf');
  assert.equal(q.allows(member, 'my_secret_thing', 'read'), false);
});

test('a file without sections protects nothing', () => {
  assert.equal(parsePropertyProtections('# nothing\n', 'roles', 'p.conf').allows({ roles: [] }, 'anything', 'delete'), true);
});

test('[DEFAULT] gives every section its options', () => {
  const p = parsePropertyProtections('[DEFAULT]\nread = @\nupdate = admin\ndelete = admin\n[^a]\ncreate = member\n', 'roles', 'p.conf');
  assert.equal(p.rules.length, 1);
  assert.equal(p.allows({ roles: ['x'] }, 'ab', 'read'), true);
  assert.equal(p.allows({ roles: ['member'] }, 'ab', 'create'), true);
  assert.equal(p.allows({ roles: ['member'] }, 'ab', 'update'), false);
});

test('policies format: each operation names a policy rule', () => {
  const rules = compileRuleSet(
    effectiveRuleTexts({ enforceNewDefaults: false, fileRules: new Map([['billing', 'role:admin or role:billing']]) }),
  );
  const p = parsePropertyProtections('[^x_]\ncreate = billing\nread = @\nupdate = nowhere\ndelete = !\n', 'policies', 'p.conf', rules);
  assert.deepEqual(p.undefinedPolicies, ['nowhere']);
  assert.equal(p.allows({ roles: ['billing'] }, 'x_a', 'create'), true);
  assert.equal(p.allows({ roles: ['member'] }, 'x_a', 'create'), false);
  assert.equal(p.allows({ roles: ['admin'] }, 'x_a', 'update'), false, 'an undefined rule refuses');
  assert.equal(p.allows({ roles: ['admin'] }, 'x_a', 'delete'), false);
});

test('malformed files are refused with file, line and reason', () => {
  const cases: [string, 'roles' | 'policies', RegExp][] = [
    ['[^a]\ncreate = @\nread = @\nupdate = @\n', 'roles', /p\.conf:1, section \[\^a\]: "delete" is missing/],
    ['[^a]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n', 'roles', /"@" and "!" are mutually exclusive/],
    ['[^a]\ncreate = a,b\nread = @\nupdate = @\ndelete = @\n', 'policies', /several policies/],
    ['[(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n', 'roles', /not a regular expression/],
    ['[(?P<n>a)]\ncreate = @\nread = @\nupdate = @\ndelete = @\n', 'roles', /Python-specific/],
    ['[a]\ncreate = @\n[a]\n', 'roles', /p\.conf:3: section \[a\] appears twice/],
    ['[a]\ncreate = @\ncreate = x\n', 'roles', /option "create" appears twice/],
    ['create = @\n', 'roles', /before any \[section\]/],
    ['[a]\njunk\n', 'roles', /neither a \[section\] nor an option/],
    ['[a]\ncreate = 50%\nread = @\nupdate = @\ndelete = @\n', 'roles', /has a "%"/],
  ];
  for (const [text, format, message] of cases) {
    assert.throws(
      () => parsePropertyProtections(text, format, 'p.conf'),
      (e: unknown) => e instanceof PropertyProtectionError && message.test(e.message),
      text,
    );
  }
});
