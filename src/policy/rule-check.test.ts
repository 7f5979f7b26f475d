import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pyStr } from '../domain/py-format.js';
import { evaluate, substitute, type Credentials, type Target } from './rule-check.js';
import { parseRule, RuleSyntaxError, type Check } from './rule-parser.js';

interface OsloCases {
  readonly how: string;
  readonly named: Record<string, string>;
  readonly targets: Target[];
  readonly creds: Credentials[];
  readonly cases: { rule: string; target?: number; creds?: number; result: boolean | 'unparseable' }[];
}

// Recorded from oslo.policy itself by test/rbac/record-oslo-cases.py.
const oslo = JSON.parse(readFileSync(new URL('./oslo-cases.json', import.meta.url), 'utf8')) as OsloCases;

test(`every rule evaluates as oslo.policy does (${oslo.cases.length} cases, ${oslo.how})`, () => {
  const named = new Map<string, Check>(Object.entries(oslo.named).map(([k, v]) => [k, parseRule(v)]));
  const lookup = (name: string) => named.get(name);
  const mismatches: string[] = [];
  for (const c of oslo.cases) {
    if (c.result === 'unparseable') {
      assert.throws(() => parseRule(c.rule), RuleSyntaxError, `oslo cannot parse ${JSON.stringify(c.rule)}; Iris must refuse it`);
      continue;
    }
    const target = oslo.targets[c.target!];
    const creds = oslo.creds[c.creds!];
    assert.ok(target !== undefined && creds !== undefined, `${JSON.stringify(c.rule)}: no target ${c.target} or creds ${c.creds}`);
    const got = evaluate(parseRule(c.rule), target, creds, lookup);
    if (got !== c.result) mismatches.push(`${JSON.stringify(c.rule)} target ${c.target} creds ${c.creds}: oslo ${c.result}, Iris ${got}`);
  }
  assert.deepEqual(mismatches, []);
});

test('substitution is Python %-formatting with the target; a missing key fails the check', () => {
  assert.equal(substitute('%(owner)s', { owner: 'p1' }), 'p1');
  assert.equal(substitute('%(owner)s', { owner: null }), 'None');
  assert.equal(substitute('x%%y', {}), 'x%y');
  assert.equal(substitute('%(a)s-%(b)s', { a: 1, b: true }), '1-True');
  assert.equal(substitute('%(missing)s', { owner: 'p1' }), null);
  assert.equal(evaluate(parseRule('role:%(missing)s'), {}, { roles: ['admin'] }, () => undefined), false);
});

test('target keys are own properties only (no prototype lookups)', () => {
  assert.equal(substitute('%(constructor)s', {}), null);
  assert.equal(substitute('%(toString)s', {}), null);
  assert.equal(evaluate(parseRule('constructor:%(x)s'), { x: 'y' }, {}, () => undefined), false);
});

test("Python's str() of values", () => {
  assert.equal(pyStr(null), 'None');
  assert.equal(pyStr(false), 'False');
  assert.equal(pyStr(12), '12');
  assert.equal(pyStr(['a', 'b']), "['a', 'b']");
  assert.equal(pyStr({ k: "it's" }), `{'k': "it's"}`);
});

test('an undefined rule is false, and so is a reference loop cut by the depth bound', () => {
  assert.equal(evaluate(parseRule('rule:nothing'), {}, {}, () => undefined), false);
  const loop = parseRule('rule:loop');
  assert.equal(evaluate(loop, {}, {}, () => loop), false);
  assert.equal(evaluate(parseRule('not rule:nothing'), {}, {}, () => undefined), true);
});

test('roles match case-insensitively; a caller without roles has none', () => {
  assert.equal(evaluate(parseRule('role:Admin'), {}, { roles: ['ADMIN'] }, () => undefined), true);
  assert.equal(evaluate(parseRule('role:admin'), {}, {}, () => undefined), false);
});
