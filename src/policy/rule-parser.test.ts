import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRule, parseRule, RuleSyntaxError } from './rule-parser.js';

test('an empty or blank rule always allows', () => {
  assert.deepEqual(parseRule(''), { kind: 'true' });
  assert.deepEqual(parseRule('   '), { kind: 'true' });
});

test('@ and ! are always and never', () => {
  assert.deepEqual(parseRule('@'), { kind: 'true' });
  assert.deepEqual(parseRule('!'), { kind: 'false' });
});

test('role, rule and generic checks', () => {
  assert.deepEqual(parseRule('role:admin'), { kind: 'role', match: 'admin' });
  assert.deepEqual(parseRule('rule:default'), { kind: 'rule', name: 'default' });
  assert.deepEqual(parseRule('project_id:%(owner)s'), {
    kind: 'generic',
    path: ['project_id'],
    literal: null,
    match: '%(owner)s',
    text: 'project_id:%(owner)s',
  });
  const literal = parseRule("'public':%(visibility)s");
  assert.equal(literal.kind === 'generic' && literal.literal, 'public');
  const bool = parseRule('True:%(protected)s');
  assert.equal(bool.kind === 'generic' && bool.literal, 'True');
  const num = parseRule('-7:%(min_disk)s');
  assert.equal(num.kind === 'generic' && num.literal, '-7');
  const dotted = parseRule('token.user.id:%(user_id)s');
  assert.deepEqual(dotted.kind === 'generic' && dotted.path, ['token', 'user', 'id']);
});

test('only the first colon separates kind and match', () => {
  assert.deepEqual(parseRule('role:compute:admin'), { kind: 'role', match: 'compute:admin' });
});

test('and binds tighter than or; not applies to one check; parentheses group', () => {
  assert.equal(formatRule(parseRule('role:a or role:b and role:c')), '(role:a or (role:b and role:c))');
  assert.equal(formatRule(parseRule('role:a and role:b or role:c and role:d')), '((role:a and role:b) or (role:c and role:d))');
  assert.equal(formatRule(parseRule('not role:a and role:b')), '(not role:a and role:b)');
  assert.equal(formatRule(parseRule('not (role:a and role:b)')), 'not (role:a and role:b)');
  assert.equal(formatRule(parseRule('(role:a or role:b) and role:c')), '((role:a or role:b) and role:c)');
  assert.equal(formatRule(parseRule('((role:a))')), 'role:a');
  assert.equal(formatRule(parseRule('( role:a )')), 'role:a');
});

test('operators are case-insensitive', () => {
  assert.equal(formatRule(parseRule('role:a AND role:b Or NOT role:c')), '((role:a and role:b) or not role:c)');
});

test("a check's own %(name)s parentheses are not grouping", () => {
  assert.equal(formatRule(parseRule('(project_id:%(owner)s)')), 'project_id:%(owner)s');
  assert.equal(formatRule(parseRule('role:a or (role:b and (project_id:%(project_id)s or project_id:%(member_id)s))')),
    '(role:a or (role:b and (project_id:%(project_id)s or project_id:%(member_id)s)))');
});

test('malformed rules are refused with the reason', () => {
  const bad: [string, RegExp][] = [
    ['role:admin or', /ends where a check was expected/],
    ['and role:admin', /unexpected "and"/],
    ['(role:admin', /not closed/],
    ['role:admin)', /no matching "\("/],
    ['role:admin role:member', /after a complete check/],
    ['admin', /is not a check/],
    ['"quoted"', /quoted string/],
    ['not', /ends where a check was expected/],
    ['()', /unexpected "\)"/],
    ['role:admin or or role:member', /unexpected "or"/],
    ['project_id:%(owner)d', /"%"/],
    ['project_id:%s', /"%"/],
    ['http://example.com/check:x', /external checks/],
    [':%(owner)s', /empty kind/],
    ['[1]:%(x)s', /not supported/],
    ['007:%(x)s', /leading zero/],
    ["'a\\b':%(x)s", /escapes/],
  ];
  for (const [rule, reason] of bad) {
    assert.throws(() => parseRule(rule), (e: unknown) => e instanceof RuleSyntaxError && reason.test(e.message), rule);
  }
});
