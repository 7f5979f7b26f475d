/**
 * Evaluates parsed rules (`rule-parser.ts`) the way oslo.policy's checks do: against a
 * target (what is acted on, e.g. an image) and the caller's credentials.
 *
 * @example
 *   const rules = new Map([['admin_only', parseRule('role:admin')]]);
 *   evaluate(parseRule('rule:admin_only or project_id:%(owner)s'),
 *            { owner: 'p1' }, { project_id: 'p1', roles: ['member'] }, (n) => rules.get(n)); // true
 */
import { pyStr } from '../domain/py-format.js';
import type { Check } from './rule-parser.js';

/** A value as it appears in a target or in credentials. */
export type PolicyValue = string | number | boolean | null | readonly PolicyValue[] | PolicyRecord;
export interface PolicyRecord {
  readonly [key: string]: PolicyValue | undefined;
}

/**
 * The caller, as oslo.context's `to_policy_values()` describes it (`project_id`, `user_id`,
 * `roles`, `system_scope`, …). An absent key fails any check that reads it.
 */
export type Credentials = PolicyRecord;
/** What is acted on; an absent key fails any check that substitutes it (oslo: KeyError). */
export type Target = PolicyRecord;

/** Looks a rule up by name for `rule:NAME`; undefined = no such rule (the check is false). */
export type RuleLookup = (name: string) => Check | undefined;

// Rules referring to each other are checked for cycles when loaded; this only bounds a
// lookup that was not (e.g. a hand-made one in a test).
const MAX_DEPTH = 64;

/** Whether `check` allows the caller. Never throws for well-formed input; unknown things are false. */
export function evaluate(check: Check, target: Target, creds: Credentials, rules: RuleLookup, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  switch (check.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return check.checks.every((c) => evaluate(c, target, creds, rules, depth + 1));
    case 'or':
      return check.checks.some((c) => evaluate(c, target, creds, rules, depth + 1));
    case 'not':
      return !evaluate(check.check, target, creds, rules, depth + 1);
    case 'rule': {
      const rule = rules(check.name);
      return rule !== undefined && evaluate(rule, target, creds, rules, depth + 1);
    }
    case 'role': {
      const match = substitute(check.match, target);
      if (match === null) return false;
      const roles = creds.roles;
      if (!Array.isArray(roles)) return false;
      const wanted = match.toLowerCase();
      return roles.some((r) => typeof r === 'string' && r.toLowerCase() === wanted);
    }
    case 'generic': {
      const match = substitute(check.match, target);
      if (match === null) return false;
      if (check.literal !== null) return match === check.literal;
      return findInCreds(creds, check.path ?? [], match);
    }
  }
}

/**
 * Python's `match % target` for the `%(name)s` and `%%` forms the parser allows: null when
 * the target lacks a name (oslo catches the KeyError and the check is false).
 */
export function substitute(match: string, target: Target): string | null {
  let missing = false;
  const out = match.replace(/%\(([^)]*)\)s|%%/g, (whole, name: string | undefined) => {
    if (whole === '%%') return '%';
    const value = Object.hasOwn(target, name!) ? target[name!] : undefined;
    if (value === undefined) {
      missing = true;
      return '';
    }
    return pyStr(value);
  });
  return missing ? null : out;
}

/**
 * oslo's GenericCheck._find_in_dict: walk the dotted path through the credentials; a list
 * on the way matches when any element does; the end value is compared as text.
 */
function findInCreds(value: PolicyValue | undefined, path: readonly string[], match: string): boolean {
  const [key, ...rest] = path;
  if (key === undefined) return value !== undefined && match === pyStr(value);
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return false;
  const next = Object.hasOwn(value, key) ? (value as PolicyRecord)[key] : undefined;
  if (next === undefined) return false;
  if (Array.isArray(next)) return next.some((item: PolicyValue) => findInCreds(item, rest, match));
  return findInCreds(next, rest, match);
}
