/**
 * Glance 25.1.0's behaviour with its shipped defaults (`enforce_new_defaults = false`, no
 * policy file): the rule policy over Glance's default rules in legacy mode. Kept for callers
 * (tests, tools) that want that policy without reading any configuration.
 */
import type { Policy } from '../domain/policy.js';
import { createRulePolicy, loadPolicyRules } from './rule-policy.js';

export function createDefaultPolicy(): Policy {
  return createRulePolicy({ rules: loadPolicyRules({ enforceNewDefaults: false, policyFile: null }), secureRbac: false });
}

export type { ImageAction, MemberAction } from '../domain/policy.js';
