/**
 * The MetadefPolicy port over the rule set (Glance's glance/api/v2/policy.py MetadefAPIPolicy):
 * the target is the namespace's owner (`project_id`) and visibility, or only the caller's
 * project when no namespace is involved. A refusal hides the namespace (404) unless the caller
 * may get it, in which case it is Glance's 403.
 *
 * @example
 *   const policy = createMetadefPolicy({ rules, enforceScope: false });
 *   policy.enforce(ctx, 'add_metadef_tag', ns); // throws Forbidden/NotFound
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { effectiveVisibility, type MetadefNamespace } from '../domain/metadef.js';
import type { MetadefPolicy, MetadefRule } from '../domain/metadef-ports.js';
import { METADEF_RULE_DEFAULTS } from './metadef-defaults.js';
import type { Target } from './rule-check.js';
import { credentialsOf } from './rule-policy.js';
import type { RuleSet } from './rule-set.js';

export interface MetadefPolicyOptions {
  readonly rules: RuleSet;
  /** `[oslo_policy] enforce_scope`: refuse callers whose token scope the rule does not list. */
  readonly enforceScope?: boolean;
}

export function createMetadefPolicy(opts: MetadefPolicyOptions): MetadefPolicy {
  const scopes = new Map(METADEF_RULE_DEFAULTS.map((d) => [d.name, d.scopeTypes]));

  const target = (ctx: RequestContext, ns: MetadefNamespace | undefined): Target =>
    ns === undefined ? { project_id: ctx.projectId } : { project_id: ns.owner, visibility: effectiveVisibility(ns) };

  const allowed = (ctx: RequestContext, rule: MetadefRule, ns: MetadefNamespace | undefined): boolean => {
    if (opts.enforceScope) {
      const scopeTypes = scopes.get(rule);
      const scope = ctx.systemScope ? 'system' : ctx.domainId ? 'domain' : 'project';
      if (scopeTypes !== undefined && !scopeTypes.includes(scope)) return false;
    }
    return opts.rules.check(rule, target(ctx, ns), credentialsOf(ctx));
  };

  return {
    enforce(ctx, rule, ns) {
      if (allowed(ctx, rule, ns)) return;
      if (rule === 'get_metadef_namespace' || !allowed(ctx, 'get_metadef_namespace', ns)) {
        throw new NotFound('The resource could not be found.');
      }
      throw new Forbidden(`You are not authorized to complete ${rule} action.`);
    },
    check(ctx, rule, ns) {
      return allowed(ctx, rule, ns);
    },
  };
}
