/**
 * Builds the Policy from the `[oslo_policy]` options: finds the policy file as oslo.config's
 * find_file would (beside the configuration files read, then the working directory), loads
 * it over Glance's defaults for the chosen mode.
 *
 * @example
 *   const { policy, file } = createPolicyFromConfig(config);
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Config } from '../config/config.js';
import type { Policy } from '../domain/policy.js';
import { PolicyFileError } from './policy-file.js';
import { PropertyProtectionError, readPropertyProtections, type PropertyProtections } from './property-protections.js';
import { createRulePolicy, loadPolicyRules } from './rule-policy.js';
import type { RuleSet } from './rule-set.js';

/** Glance's default policy_file name (glance/api/policy.py DEFAULT_POLICY_FILE). */
export const DEFAULT_POLICY_FILE = 'policy.yaml';

export interface PolicySetup {
  readonly policy: Policy;
  readonly rules: RuleSet;
  /** The policy file used, or null when none. */
  readonly file: string | null;
  /** The property protections in force, or null when none. */
  readonly propertyProtections: PropertyProtections | null;
  /** The files read (policy file, property protection file): a change to one means a reload. */
  readonly files: readonly string[];
}

/**
 * The policy file to read: an absolute name as is; a relative one in the directories of
 * `configFiles` (last read first, as oslo.config searches), then `cwd`. Null when the
 * default name is found nowhere; PolicyFileError when a name set by the operator is.
 */
export function findPolicyFile(name: string, configFiles: readonly string[], cwd: string): string | null {
  if (name === '') return null;
  const found = findBesideConfig(name, configFiles, cwd);
  if (found !== null || name === DEFAULT_POLICY_FILE) return found;
  throw new PolicyFileError(`policy file ${name} ([oslo_policy] policy_file) was not found${isAbsolute(name) ? '' : ` in ${searchDirs(configFiles, cwd).join(', ')}`}`);
}

/** oslo.config's find_file: absolute as is, else beside the config files (last first), then cwd. */
function findBesideConfig(name: string, configFiles: readonly string[], cwd: string): string | null {
  if (isAbsolute(name)) return existsSync(name) ? name : null;
  for (const dir of searchDirs(configFiles, cwd)) {
    const candidate = resolve(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

function searchDirs(configFiles: readonly string[], cwd: string): string[] {
  return [...new Set([...[...configFiles].reverse().map((f) => dirname(f)), cwd])];
}

/**
 * Throws PolicyFileError for a missing or bad policy file, PropertyProtectionError for a
 * missing or bad property protection file.
 */
export function createPolicyFromConfig(config: Config, cwd = process.cwd()): PolicySetup {
  const options = config.oslo_policy;
  const file = findPolicyFile(options.policy_file, config.sources, cwd);
  const rules = loadPolicyRules({ enforceNewDefaults: options.enforce_new_defaults, policyFile: file });
  const protectionFile = config.DEFAULT.property_protection_file;
  let propertyProtections: PropertyProtections | null = null;
  const files = file === null ? [] : [file];
  if (protectionFile !== null) {
    const path = findBesideConfig(protectionFile, config.sources, cwd);
    if (path === null) {
      throw new PropertyProtectionError(`property protection file ${protectionFile} ([DEFAULT] property_protection_file) was not found`);
    }
    propertyProtections = readPropertyProtections(path, config.DEFAULT.property_protection_rule_format, rules);
    files.push(path);
  }
  const policy = createRulePolicy({
    rules,
    secureRbac: options.enforce_new_defaults,
    enforceScope: options.enforce_scope,
    propertyProtections: propertyProtections ?? undefined,
  });
  return { policy, rules, file, propertyProtections, files };
}
