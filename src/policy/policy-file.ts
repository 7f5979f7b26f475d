/**
 * Reads an operator's policy file (`[oslo_policy] policy_file`): a YAML or JSON mapping of
 * Glance rule names to rules, as oslo.policy reads it (JSON first, then YAML; values are
 * rule strings or the old list-of-lists form). Anything wrong with the file is a
 * PolicyFileError naming the file and the rule, so the server refuses to start rather than
 * run with rules other than the operator wrote (oslo.policy logs and treats a bad rule as
 * "never"; a missing file it silently ignores).
 *
 * @example
 *   const { rules } = readPolicyFile('/etc/iris/policy.yaml');
 *   rules.get('publicize_image'); // 'role:admin'
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseRule, RuleSyntaxError } from './rule-parser.js';

/** The policy file cannot be used; the message says which file, which rule and why. */
export class PolicyFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PolicyFileError';
  }
}

export interface PolicyFile {
  readonly path: string;
  /** Rule name → rule text (list-form rules rewritten in the text syntax). */
  readonly rules: ReadonlyMap<string, string>;
}

/** Reads and checks a policy file. Throws PolicyFileError. */
export function readPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PolicyFileError(
      code === 'ENOENT' ? `policy file ${path} does not exist` : `cannot read policy file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return { path, rules: parsePolicyText(text, path) };
}

/** Parses a policy file's contents (`origin` names it in errors). Throws PolicyFileError. */
export function parsePolicyText(text: string, origin: string): Map<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    try {
      data = parseYaml(text, { uniqueKeys: true, strict: true, prettyErrors: true });
    } catch (e) {
      throw new PolicyFileError(`policy file ${origin} is neither valid JSON nor valid YAML: ${(e as Error).message}`, { cause: e });
    }
  }
  // An empty file (YAML null) has no rules, as in oslo.policy.
  if (data === null || data === undefined) return new Map();
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new PolicyFileError(`policy file ${origin} must be a mapping of rule names to rules`);
  }
  const rules = new Map<string, string>();
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    const where = `policy file ${origin}, rule ${JSON.stringify(name)}`;
    const ruleText = ruleTextOf(value, where);
    try {
      parseRule(ruleText);
    } catch (e) {
      if (e instanceof RuleSyntaxError) throw new PolicyFileError(`${where}: ${e.reason} (in ${JSON.stringify(ruleText)})`, { cause: e });
      throw e;
    }
    rules.set(name, ruleText);
  }
  return rules;
}

/** A rule value: a string, or oslo's legacy list form (outer list = or, inner list = and). */
function ruleTextOf(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (value === null) throw new PolicyFileError(`${where}: the rule is empty (write "" to allow everyone, "!" to allow no one)`);
  if (!Array.isArray(value)) throw new PolicyFileError(`${where}: a rule must be a string (or a list of lists of checks)`);
  // oslo: an empty list accepts; a list whose inner lists are all empty refuses.
  if (value.length === 0) return '@';
  const alternatives: string[] = [];
  for (const inner of value) {
    const checks = typeof inner === 'string' ? [inner] : inner;
    if (!Array.isArray(checks) || checks.some((c) => typeof c !== 'string' || /\s/.test(c) || c === '')) {
      throw new PolicyFileError(`${where}: each item of a list rule must be a list of single checks such as "role:admin"`);
    }
    if (checks.length === 0) continue;
    alternatives.push(checks.length === 1 ? checks[0] : `(${checks.join(' and ')})`);
  }
  return alternatives.length === 0 ? '!' : alternatives.join(' or ');
}
