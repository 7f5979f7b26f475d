/**
 * A compiled set of named rules: every rule parsed once, references checked for cycles.
 *
 * @example
 *   const set = compileRuleSet(effectiveRuleTexts({ enforceNewDefaults: false }));
 *   set.check('get_image', imageTarget, creds); // true
 */
import { evaluate, type Credentials, type Target } from './rule-check.js';
import { parseRule, RuleSyntaxError, type Check } from './rule-parser.js';

/** A rule set that cannot be used: a rule does not parse, or rules refer to each other in a cycle. */
export class RuleSetError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RuleSetError';
  }
}

export interface RuleSet {
  /** Whether the named rule allows the caller; an undefined rule is false (oslo fails closed). */
  check(name: string, target: Target, creds: Credentials): boolean;
  /** The parsed rule, if defined. */
  get(name: string): Check | undefined;
  /** The rule texts, as compiled. */
  readonly texts: ReadonlyMap<string, string>;
  /** `rule:NAME` references to rules that are not defined (each such check is always false). */
  readonly undefinedReferences: readonly string[];
}

/** Parses every rule and refuses cycles. Throws RuleSetError. */
export function compileRuleSet(texts: ReadonlyMap<string, string>): RuleSet {
  const rules = new Map<string, Check>();
  for (const [name, text] of texts) {
    try {
      rules.set(name, parseRule(text));
    } catch (e) {
      if (e instanceof RuleSyntaxError) throw new RuleSetError(`rule ${JSON.stringify(name)}: ${e.reason}`, { cause: e });
      throw e;
    }
  }
  const undefinedReferences = new Set<string>();
  // Depth-first search over rule:NAME edges; grey = on the current path.
  const state = new Map<string, 'grey' | 'black'>();
  const visit = (name: string, path: string[]): void => {
    const seen = state.get(name);
    if (seen === 'black') return;
    if (seen === 'grey') {
      throw new RuleSetError(`rules refer to each other in a cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    }
    const rule = rules.get(name);
    if (rule === undefined) {
      undefinedReferences.add(name);
      return;
    }
    state.set(name, 'grey');
    for (const ref of references(rule)) visit(ref, [...path, name]);
    state.set(name, 'black');
  };
  for (const name of rules.keys()) visit(name, []);

  const lookup = (name: string) => rules.get(name);
  return {
    check: (name, target, creds) => {
      const rule = rules.get(name);
      return rule !== undefined && evaluate(rule, target, creds, lookup);
    },
    get: lookup,
    texts: new Map(texts),
    undefinedReferences: [...undefinedReferences].sort(),
  };
}

function references(check: Check): string[] {
  switch (check.kind) {
    case 'rule':
      return [check.name];
    case 'and':
    case 'or':
      return check.checks.flatMap(references);
    case 'not':
      return references(check.check);
    default:
      return [];
  }
}
