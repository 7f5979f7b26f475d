/**
 * Glance 25.1.0's registered policy rules, as data: name, the new (Wallaby+ "secure RBAC")
 * check string, and the deprecated check string it replaced. Taken from glance/policies/
 * (base.py, image.py, tasks.py, cache.py, discovery.py), plus the two cache rules of API v2.18
 * and the v2.17 locations rules (`service_api`, `add_image_location`, `fetch_image_location`,
 * upstream Glance 2024.2's base.py and image.py); the metadef rules are in metadef-defaults.ts
 * and appended here.
 *
 * How oslo.policy combines them (policy.Enforcer._handle_deprecated_rule), which
 * `effectiveRuleTexts` reproduces:
 *  - a rule named in the policy file is exactly the file's text;
 *  - otherwise, with `[oslo_policy] enforce_new_defaults = false` (Glance 25.1.0's default)
 *    and a deprecated text that differs, the rule is `(new) or (deprecated)`;
 *  - otherwise it is the new text.
 * With the shipped defaults the deprecated text is `rule:default` and `default` is
 * `"" or role:admin`, i.e. always true: what restricts callers then are the ownership and
 * visibility checks Glance makes in code, which `rule-policy.ts` keeps.
 */

import { METADEF_RULE_DEFAULTS } from './metadef-defaults.js';

/** One rule Glance registers. */
export interface RuleDefault {
  readonly name: string;
  /** The current default. */
  readonly check: string;
  /** The deprecated default it replaced (ORed in while enforce_new_defaults is false). */
  readonly deprecated?: string;
  /** oslo.policy scope_types; enforced for system-scoped callers when enforce_scope is true. */
  readonly scopeTypes?: readonly ('project' | 'system' | 'domain')[];
  readonly description: string;
  /** API calls the rule guards, as "METHOD /path". */
  readonly operations?: readonly string[];
}

// The composite check strings of glance/policies/base.py.
const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
const PROJECT_READER = 'role:reader and project_id:%(project_id)s';
const IMAGE_MEMBER_CHECK = 'project_id:%(member_id)s';
const VISIBLE_TO_ANYONE = `${IMAGE_MEMBER_CHECK} or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s`;
const ADMIN_OR_PROJECT_MEMBER = `role:admin or (${PROJECT_MEMBER})`;
const ADMIN_OR_PROJECT_READER = `role:admin or (${PROJECT_READER})`;
const ADMIN_OR_PROJECT_READER_GET_IMAGE = `role:admin or (role:reader and (project_id:%(project_id)s or ${VISIBLE_TO_ANYONE}))`;
const ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = `role:admin or (role:member and (project_id:%(project_id)s or ${VISIBLE_TO_ANYONE}))`;
const ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = `role:admin or (${PROJECT_MEMBER} and project_id:%(owner)s)`;
const ADMIN_OR_SHARED_MEMBER = `role:admin or (role:member and ${IMAGE_MEMBER_CHECK})`;
// base.py writes this one without parentheses around the `and`; precedence makes it the same.
const ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = `role:admin or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK})`;

// Upstream 2024.2's base.py: the service role (admins kept for compatibility) and its composite.
const SERVICE = 'rule:service_api';
const SERVICE_OR_PROJECT_MEMBER = `${SERVICE} or (${PROJECT_MEMBER} and project_id:%(owner)s)`;

const LEGACY = 'rule:default';
const PROJECT = ['project'] as const;

/** Every rule Glance 25.1.0 registers that Iris knows, in Glance's order. */
export const GLANCE_RULE_DEFAULTS: readonly RuleDefault[] = Object.freeze([
  {
    name: 'default',
    check: '',
    deprecated: 'role:admin',
    description: 'The rule used for actions without a rule of their own, and referred to by the deprecated defaults.',
  },
  { name: 'context_is_admin', check: 'role:admin', description: 'Who is an administrator (the is_admin flag of a request).' },
  { name: 'service_api', check: 'role:service or role:admin', description: 'Who calls service-only APIs (the v2.17 locations API): the service role, and admins for compatibility.' },
  {
    name: 'add_image',
    check: ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE,
    deprecated: LEGACY,
    scopeTypes: PROJECT,
    description: 'Create new image',
    operations: ['POST /v2/images'],
  },
  { name: 'delete_image', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Deletes the image', operations: ['DELETE /v2/images/{image_id}'] },
  { name: 'get_image', check: ADMIN_OR_PROJECT_READER_GET_IMAGE, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Get specified image', operations: ['GET /v2/images/{image_id}'] },
  { name: 'get_images', check: ADMIN_OR_PROJECT_READER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Get all available images', operations: ['GET /v2/images'] },
  { name: 'modify_image', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Updates given image', operations: ['PATCH /v2/images/{image_id}'] },
  // No deprecated rule: making an image public has always been for admins only.
  { name: 'publicize_image', check: 'role:admin', scopeTypes: PROJECT, description: 'Publicize given image', operations: ['PATCH /v2/images/{image_id}'] },
  { name: 'communitize_image', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Communitize given image', operations: ['PATCH /v2/images/{image_id}'] },
  {
    name: 'download_image',
    check: ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE,
    deprecated: LEGACY,
    scopeTypes: PROJECT,
    description: 'Downloads given image',
    operations: ['GET /v2/images/{image_id}/file'],
  },
  { name: 'upload_image', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Uploads data to specified image', operations: ['PUT /v2/images/{image_id}/file'] },
  { name: 'delete_image_location', check: 'role:admin', deprecated: LEGACY, scopeTypes: PROJECT, description: 'Deletes the location of given image', operations: ['PATCH /v2/images/{image_id}'] },
  { name: 'get_image_location', check: ADMIN_OR_PROJECT_READER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Reads the location of the image', operations: ['GET /v2/images/{image_id}'] },
  { name: 'set_image_location', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Sets location URI to given image', operations: ['PATCH /v2/images/{image_id}'] },
  { name: 'add_image_location', check: SERVICE_OR_PROJECT_MEMBER, scopeTypes: PROJECT, description: 'Add location URI to given image', operations: ['POST /v2/images/{image_id}/locations'] },
  { name: 'fetch_image_location', check: SERVICE, scopeTypes: PROJECT, description: 'Show all locations associated to given image', operations: ['GET /v2/images/{image_id}/locations'] },
  { name: 'add_member', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Create image member', operations: ['POST /v2/images/{image_id}/members'] },
  { name: 'delete_member', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Delete image member', operations: ['DELETE /v2/images/{image_id}/members/{member_id}'] },
  { name: 'get_member', check: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Show image member details', operations: ['GET /v2/images/{image_id}/members/{member_id}'] },
  { name: 'get_members', check: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'List image members', operations: ['GET /v2/images/{image_id}/members'] },
  { name: 'modify_member', check: ADMIN_OR_SHARED_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Update image member', operations: ['PUT /v2/images/{image_id}/members/{member_id}'] },
  { name: 'manage_image_cache', check: 'role:admin', scopeTypes: PROJECT, description: 'Manage image cache' },
  { name: 'deactivate', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Deactivate image', operations: ['POST /v2/images/{image_id}/actions/deactivate'] },
  { name: 'reactivate', check: ADMIN_OR_PROJECT_MEMBER, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Reactivate image', operations: ['POST /v2/images/{image_id}/actions/reactivate'] },
  { name: 'copy_image', check: 'role:admin', scopeTypes: PROJECT, description: 'Copy existing image to other stores', operations: ['POST /v2/images/{image_id}/import'] },
  { name: 'get_task', check: LEGACY, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Get an image task.', operations: ['GET /v2/tasks/{task_id}'] },
  { name: 'get_tasks', check: LEGACY, deprecated: LEGACY, scopeTypes: PROJECT, description: 'List tasks for all images.', operations: ['GET /v2/tasks'] },
  { name: 'add_task', check: LEGACY, deprecated: LEGACY, scopeTypes: PROJECT, description: 'Create a task.', operations: ['POST /v2/tasks'] },
  { name: 'modify_task', check: LEGACY, scopeTypes: PROJECT, description: 'This policy is not used.' },
  {
    name: 'tasks_api_access',
    check: 'role:admin',
    scopeTypes: PROJECT,
    description: 'Access to the tasks API (also needed, with get_task etc., for every task call).',
    operations: ['GET /v2/tasks/{task_id}', 'GET /v2/tasks', 'POST /v2/tasks', 'DELETE /v2/tasks/{task_id}'],
  },
  { name: 'stores_info_detail', check: 'role:admin', scopeTypes: PROJECT, description: 'Expose store specific information', operations: ['GET /v2/info/stores/detail'] },
  { name: 'cache_image', check: 'role:admin', deprecated: 'rule:manage_image_cache', scopeTypes: PROJECT, description: 'Queue image for caching', operations: ['PUT /v2/cache/{image_id}'] },
  { name: 'cache_list', check: 'role:admin', deprecated: 'rule:manage_image_cache', scopeTypes: PROJECT, description: 'List cache status', operations: ['GET /v2/cache'] },
  {
    name: 'cache_delete',
    check: 'role:admin',
    deprecated: 'rule:manage_image_cache',
    scopeTypes: PROJECT,
    description: 'Delete image(s) from cache and/or queue',
    operations: ['DELETE /v2/cache', 'DELETE /v2/cache/{image_id}'],
  },
  // Not in 25.1.0: Glance 2026.1 (API v2.18, openstack/glance commit ec65276) added these two,
  // admin-only and without a deprecated rule.
  { name: 'cache_clean', check: 'role:admin', scopeTypes: PROJECT, description: 'Clean invalid and stalled cached images', operations: ['POST /v2/cache/clean'] },
  { name: 'cache_prune', check: 'role:admin', scopeTypes: PROJECT, description: 'Prune cached images to reduce cache size', operations: ['POST /v2/cache/prune'] },
  ...METADEF_RULE_DEFAULTS,
] satisfies RuleDefault[]);

/**
 * The text of every rule as oslo.policy would enforce it: the policy file's rules win; a
 * registered rule not in the file is its default, ORed with its deprecated default unless
 * `enforceNewDefaults`. File rules with names Glance does not register are kept (a rule may
 * refer to them with `rule:NAME`).
 */
export function effectiveRuleTexts(opts: {
  readonly enforceNewDefaults: boolean;
  readonly fileRules?: ReadonlyMap<string, string>;
  readonly defaults?: readonly RuleDefault[];
}): Map<string, string> {
  const out = new Map<string, string>();
  for (const rule of opts.defaults ?? GLANCE_RULE_DEFAULTS) {
    const fromFile = opts.fileRules?.get(rule.name);
    if (fromFile !== undefined) out.set(rule.name, fromFile);
    else if (!opts.enforceNewDefaults && rule.deprecated !== undefined && rule.deprecated !== rule.check) {
      out.set(rule.name, `(${orEmpty(rule.check)}) or (${orEmpty(rule.deprecated)})`);
    } else out.set(rule.name, rule.check);
  }
  for (const [name, text] of opts.fileRules ?? []) if (!out.has(name)) out.set(name, text);
  return out;
}

// An empty check string is "always"; inside an `or` it must be spelled as a check.
function orEmpty(text: string): string {
  return text.trim() === '' ? '@' : text;
}
