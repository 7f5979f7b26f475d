/** The [oslo_policy] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const OSLO_POLICY_OPTIONS = [
  {
    section: 'oslo_policy',
    name: 'policy_file',
    type: 'string',
    default: 'policy.yaml',
    help:
      "YAML or JSON file of policy rules (Glance's rule names, oslo.policy's rule language) that override the " +
      'defaults; see docs/policy.md. A relative name is looked for in the directories of the configuration ' +
      'files read, then in the working directory. The default name is used only when such a file exists; a ' +
      'file named here explicitly must exist. Any error in the file stops the server at start (oslo.policy ' +
      'would log it and refuse the rule, or ignore a missing file). A running server rereads the file (and ' +
      'the property protection file) within a second of a change, as oslo.policy does; a changed file that ' +
      'no longer parses is logged and the rules read before stay in force.',
  },
  {
    section: 'oslo_policy',
    name: 'enforce_new_defaults',
    type: 'boolean',
    default: 'false',
    help:
      "Enforce only the new (project-scoped reader/member/admin) default rules, and drop the owner checks Glance " +
      "makes in code (Glance's [DEFAULT] enforce_secure_rbac, which must equal this option there). False, as in " +
      'Glance 25.1.0: each rule is the new rule or the deprecated one, which allows everyone, so owners and ' +
      'visibility decide.',
  },
  {
    section: 'oslo_policy',
    name: 'enforce_scope',
    type: 'boolean',
    default: 'false',
    help:
      "Refuse callers whose token scope (system, domain, project) is not one the rule was registered for; all of " +
      "Glance's image rules are project-scoped. False, as in Glance 25.1.0.",
  },
] as const satisfies readonly ConfigOption[];
