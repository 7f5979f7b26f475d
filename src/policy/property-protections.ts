/**
 * Property protections (Glance's `property_protection_file`): which callers may create,
 * read, update and delete which extra image properties, as glance/common/property_utils.py
 * decides it.
 *
 * The file is INI (Python configparser): each section is a regular expression matched
 * (searched, not anchored) against the property name, in file order, the first match
 * deciding; each section must set all four of `create`, `read`, `update`, `delete`. With
 * `property_protection_rule_format = roles` a value is a comma-separated list of roles (any
 * one suffices; `@` = everyone, `!` = no one, empty = no one); with `policies` it is the name
 * of one policy rule (from the policy file), or `@` / `!`. A property no section matches is
 * refused every operation; a file without sections protects nothing.
 *
 * @example
 *   const protections = parsePropertyProtections('[^x_billing_.*]\ncreate = admin\nread = admin,member\n' +
 *     'update = admin\ndelete = admin\n[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n', 'roles', 'p.conf');
 *   protections.allows({ roles: ['member'] }, 'x_billing_code', 'update'); // false
 */
import { readFileSync } from 'node:fs';
import type { PropertyOperation } from '../domain/policy.js';
import type { Credentials } from './rule-check.js';
import type { RuleSet } from './rule-set.js';

export type { PropertyOperation };
export const PROPERTY_OPERATIONS: readonly PropertyOperation[] = ['create', 'read', 'update', 'delete'];
export type ProtectionRuleFormat = 'roles' | 'policies';

/** The file cannot be used (Glance: InvalidPropertyProtectionConfiguration, the API does not start). */
export class PropertyProtectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PropertyProtectionError';
  }
}

/** One section: the expression and who may do each operation. */
export interface ProtectionRule {
  readonly expression: string;
  readonly pattern: RegExp;
  /** Roles (lower-cased), or one policy rule name, or `@` / `!`; empty = no one. */
  readonly permissions: Readonly<Record<PropertyOperation, readonly string[]>>;
}

export interface PropertyProtections {
  readonly format: ProtectionRuleFormat;
  readonly rules: readonly ProtectionRule[];
  /**
   * Whether a caller (its roles and service roles, or for `policies` its credentials)
   * may perform `op` on the property `name`.
   */
  allows(caller: { readonly roles: readonly string[]; readonly serviceRoles?: readonly string[]; readonly creds?: Credentials }, name: string, op: PropertyOperation): boolean;
  /** Policy rule names the file refers to that the policy does not define (each refuses). */
  readonly undefinedPolicies: readonly string[];
}

/** Reads the file named by `property_protection_file`. Throws PropertyProtectionError. */
export function readPropertyProtections(path: string, format: ProtectionRuleFormat, policy?: RuleSet): PropertyProtections {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PropertyProtectionError(`cannot read property protection file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parsePropertyProtections(text, format, path, policy);
}

/** Parses a property protection file's text (`origin` names it in errors). */
export function parsePropertyProtections(text: string, format: ProtectionRuleFormat, origin: string, policy?: RuleSet): PropertyProtections {
  const sections = parseConfigParser(text, origin);
  const rules: ProtectionRule[] = [];
  const undefinedPolicies = new Set<string>();
  for (const { name: expression, options, line } of sections) {
    const where = `property protection file ${origin}:${line}, section [${expression}]`;
    let pattern: RegExp;
    try {
      pattern = pythonRegex(expression);
    } catch (e) {
      throw new PropertyProtectionError(`${where}: not a regular expression Iris can use: ${(e as Error).message}`, { cause: e });
    }
    const permissions = {} as Record<PropertyOperation, readonly string[]>;
    for (const op of PROPERTY_OPERATIONS) {
      const value = options.get(op);
      if (value === undefined) throw new PropertyProtectionError(`${where}: "${op}" is missing (every section needs create, read, update and delete)`);
      if (value.trim() === '') {
        permissions[op] = [];
        continue;
      }
      if (format === 'policies') {
        if (value.includes(',')) {
          throw new PropertyProtectionError(`${where}: ${op} names several policies ("${value}"); combine them in one rule of the policy file`);
        }
        const rule = value.trim();
        if (rule !== '@' && rule !== '!' && policy !== undefined && policy.get(rule) === undefined) undefinedPolicies.add(rule);
        permissions[op] = [rule];
      } else {
        const roles = value.split(',').map((r) => r.trim());
        if (roles.includes('@') && roles.includes('!')) {
          throw new PropertyProtectionError(`${where}: ${op} = ${value}: "@" and "!" are mutually exclusive`);
        }
        permissions[op] = roles.map((r) => r.toLowerCase());
      }
    }
    rules.push({ expression, pattern, permissions });
  }

  return {
    format,
    rules,
    undefinedPolicies: [...undefinedPolicies].sort(),
    allows(caller, name, op) {
      if (rules.length === 0) return true;
      const rule = rules.find((r) => r.pattern.test(name));
      if (rule === undefined) return false;
      const allowed = rule.permissions[op];
      if (allowed.length === 0 || allowed.includes('!')) return false;
      if (allowed.includes('@')) return true;
      if (format === 'policies') {
        // Glance registers "<section>:<op>" = "rule:<name>" and enforces it on an empty target.
        // `allowed` is not empty (checked above).
        return policy !== undefined && policy.check(allowed[0]!, {}, caller.creds ?? { roles: [...caller.roles] });
      }
      const roles = new Set([...caller.roles, ...(caller.serviceRoles ?? [])].map((r) => r.toLowerCase()));
      return allowed.some((r) => roles.has(r));
    },
  };
}

interface Section {
  readonly name: string;
  readonly line: number;
  readonly options: Map<string, string>;
}

/**
 * Python configparser (strict, BasicInterpolation) as Glance reads the file: `[header]`
 * runs to the last `]` on the line; `key = value` or `key: value`, keys lower-cased; `#`/`;`
 * comment lines; indented lines continue a value; a repeated section or key is an error;
 * `%%` is a literal `%` and any other `%` is refused (Glance fails on it when reading).
 */
function parseConfigParser(text: string, origin: string): Section[] {
  const sections: Section[] = [];
  // configparser's [DEFAULT] is not a section: its options are every section's defaults.
  const defaults: Section = { name: 'DEFAULT', line: 0, options: new Map() };
  let seenDefaults = false;
  let current: Section | null = null;
  let lastKey: string | null = null;
  const lines = text.split(/\r?\n/);
  const fail = (line: number, reason: string): never => {
    throw new PropertyProtectionError(`property protection file ${origin}:${line}: ${reason}`);
  };
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '') {
      lastKey = null;
      continue;
    }
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    if (/^\s/.test(raw) && current !== null && lastKey !== null) {
      current.options.set(lastKey, `${current.options.get(lastKey)}\n${trimmed}`);
      continue;
    }
    const header = /^\[(.+)\]/.exec(raw.trimEnd());
    if (header !== null) {
      const name = raw.trimEnd().slice(1, raw.trimEnd().lastIndexOf(']'));
      if (sections.some((s) => s.name === name) || (name === 'DEFAULT' && seenDefaults)) fail(lineNo, `section [${name}] appears twice`);
      if (name === 'DEFAULT') seenDefaults = true;
      current = name === 'DEFAULT' ? defaults : { name, line: lineNo, options: new Map() };
      if (name !== 'DEFAULT') sections.push(current);
      lastKey = null;
      continue;
    }
    if (current === null) fail(lineNo, 'an option before any [section]');
    const sep = /[=:]/.exec(raw);
    if (sep === null) fail(lineNo, `"${trimmed}" is neither a [section] nor an option = value`);
    const key = raw.slice(0, sep!.index).trim().toLowerCase();
    if (key === '') fail(lineNo, 'an option without a name');
    if (current!.options.has(key)) fail(lineNo, `option "${key}" appears twice in [${current!.name}]`);
    current!.options.set(key, raw.slice(sep!.index + 1).trim());
    lastKey = key;
  }
  for (const section of sections) {
    for (const [key, value] of defaults.options) if (!section.options.has(key)) section.options.set(key, value);
    for (const [key, value] of section.options) {
      const rest = value.replace(/%%/g, '');
      if (rest.includes('%')) fail(section.line, `option "${key}" of [${section.name}] has a "%" (write %% for a literal one)`);
      section.options.set(key, value.replace(/%%/g, '%'));
    }
  }
  return sections;
}

/**
 * A Python `re` pattern as a JavaScript RegExp, for the common subset. Python-only syntax
 * (named groups `(?P<…>)`, inline flags, possessive forms) is refused rather than guessed.
 */
function pythonRegex(expression: string): RegExp {
  if (/\(\?P|\(\?[aiLmsux]+[):]|\\[AZ]/.test(expression)) {
    throw new Error('Python-specific syntax ((?P…), inline flags, \\A, \\Z) is not supported');
  }
  return new RegExp(expression);
}
