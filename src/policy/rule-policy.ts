/**
 * The Policy port over rules: each API action checks its Glance rule once, against the
 * target Glance builds (glance/api/policy.py ImageTarget, glance/api/v2/policy.py), plus the
 * checks Glance 25.1.0 makes in code:
 *  - visibility (glance/db/utils.py is_image_visible): an image the caller may not see is
 *    NotFound before any rule is looked at;
 *  - ownership (glance/api/v2/policy.py check_is_image_mutable, check_admin_or_same_owner;
 *    image_members.py _check_visibility_and_ownership), made only when secure RBAC is off,
 *    which in Glance must go together with `enforce_new_defaults = false`.
 *
 * @example
 *   const policy = createRulePolicy({ rules: loadPolicyRules({ enforceNewDefaults: false, policyFile: null }) });
 *   policy.enforce(ctx, 'modify_image', image); // throws Forbidden/NotFound
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import type { Image, Visibility } from '../domain/image.js';
import type { ImageAction, MemberAction, Policy, ProposedImage } from '../domain/policy.js';
import type { ListScope, MemberStatus } from '../domain/ports.js';
import { pyStr } from '../domain/py-format.js';
import { effectiveRuleTexts, GLANCE_RULE_DEFAULTS, type RuleDefault } from './glance-defaults.js';
import { PolicyFileError, readPolicyFile } from './policy-file.js';
import type { PropertyProtections } from './property-protections.js';
import type { Credentials, PolicyValue, Target } from './rule-check.js';
import { compileRuleSet, RuleSetError, type RuleSet } from './rule-set.js';

export interface RulePolicyOptions {
  readonly rules: RuleSet;
  /**
   * Glance's `[DEFAULT] enforce_secure_rbac`: when true the rules alone decide and the
   * in-code ownership checks are skipped. Glance refuses to start unless it equals
   * `[oslo_policy] enforce_new_defaults`, so Iris derives it from that option.
   */
  readonly secureRbac: boolean;
  /** `[oslo_policy] enforce_scope`: refuse callers whose token scope the rule does not list. */
  readonly enforceScope?: boolean;
  /** Scope types per rule name (default: Glance's registered ones). */
  readonly defaults?: readonly RuleDefault[];
  /** `property_protection_file`; none = every property open to whoever may change the image. */
  readonly propertyProtections?: PropertyProtections;
}

/** Actions followed by Glance's check_is_image_mutable (legacy mode). */
const OWNER_ONLY: ReadonlySet<ImageAction> = new Set([
  'modify_image',
  'delete_image',
  'upload_image',
  'deactivate',
  'reactivate',
  'delete_image_location',
]);

/** Visibility changes are checked by Glance's _enforce_visibility: Forbidden, never hidden as NotFound. */
const VISIBILITY_RULES: ReadonlySet<ImageAction> = new Set(['publicize_image', 'communitize_image']);

export function createRulePolicy(opts: RulePolicyOptions): Policy {
  const { rules, secureRbac } = opts;
  const scopes = new Map((opts.defaults ?? GLANCE_RULE_DEFAULTS).map((d) => [d.name, d.scopeTypes]));

  const allowed = (ctx: RequestContext, rule: string, target: Target): boolean => {
    if (opts.enforceScope) {
      // oslo.policy _enforce_scope: the token's scope must be one the rule was registered for.
      const scopeTypes = scopes.get(rule);
      if (scopeTypes !== undefined && !scopeTypes.includes(tokenScope(ctx))) return false;
    }
    return rules.check(rule, target, credentialsOf(ctx));
  };

  const canModify = (ctx: RequestContext, image: Image): boolean => {
    if (ctx.isAdmin) return true;
    if (image.owner === null || ctx.projectId === null) return false;
    return image.owner === ctx.projectId;
  };

  /** Glance's ImageAPIPolicy._enforce: hide the image when get_image refuses too. */
  const enforceOnImage = (ctx: RequestContext, rule: string, image: Image): void => {
    const target = imageTarget(ctx, image);
    if (allowed(ctx, rule, target)) return;
    if (rule === 'get_image' || !allowed(ctx, 'get_image', target)) throw new NotFound('The resource could not be found.');
    throw refused(rule);
  };

  return {
    enforce(ctx, action, image) {
      // Every image action is named after the Glance rule that guards it.
      const rule: string = action;
      if (image === undefined) {
        // No image: the list's target is only the caller's project (glance/api/v2/images.py
        // index); anything else gets the target of a proposal made of nothing.
        const target = action === 'get_images' ? { project_id: ctx.projectId } : proposedTarget(ctx, {});
        if (!allowed(ctx, rule, target)) throw refused(rule);
        return;
      }
      if (VISIBILITY_RULES.has(action)) {
        if (!allowed(ctx, rule, imageTarget(ctx, image))) throw refused(rule);
        return;
      }
      enforceOnImage(ctx, rule, image);
      if (!secureRbac && OWNER_ONLY.has(action) && !canModify(ctx, image)) throw new Forbidden('You do not own this image');
    },

    enforceCreate(ctx, proposed: ProposedImage) {
      const target = proposedTarget(ctx, proposed);
      const owner = target.owner as string | null;
      if (!allowed(ctx, 'add_image', target)) {
        if (owner !== ctx.projectId) throw new Forbidden(`You are not permitted to create images owned by '${pyStr(owner)}'`);
        throw refused('add_image');
      }
      if (target.visibility === 'public' && !allowed(ctx, 'publicize_image', target)) throw refused('publicize_image');
      if (target.visibility === 'community' && !allowed(ctx, 'communitize_image', target)) throw refused('communitize_image');
      if (!secureRbac && !ctx.isAdmin && owner !== ctx.projectId) {
        throw new Forbidden(`You are not permitted to create images owned by '${pyStr(owner)}'.`);
      }
    },

    canList(ctx, image) {
      return allowed(ctx, 'get_image', imageTarget(ctx, image));
    },

    propertyAllowed(ctx, name, op) {
      const protections = opts.propertyProtections;
      if (protections === undefined) return true;
      return protections.allows({ roles: ctx.roles, serviceRoles: ctx.serviceRoles, creds: credentialsOf(ctx) }, name, op);
    },

    canSee(ctx, image, membership) {
      if (ctx.isAdmin) return true;
      if (image.owner === null) return true;
      if (image.visibility === 'public' || image.visibility === 'community') return true;
      if (ctx.projectId !== null) {
        if (ctx.projectId === image.owner) return true;
        if (image.visibility === 'shared' && membership !== null) return true;
      }
      return false;
    },

    canModify,

    needsMembership(ctx, image) {
      return (
        !ctx.isAdmin &&
        image.owner !== null &&
        image.visibility === 'shared' &&
        ctx.projectId !== null &&
        ctx.projectId !== image.owner
      );
    },

    listScope(ctx, visibility: Visibility | 'all' | undefined, memberStatus: MemberStatus | 'all'): ListScope {
      return { project: ctx.projectId, isAdmin: ctx.isAdmin, visibility, memberStatus };
    },

    // glance/api/v2/image_members.py: _check_visibility_and_ownership (legacy ownership)
    // first, then MemberAPIPolicy: get_image (NotFound), then the action's own rule
    // (Forbidden); changing a membership checks get_member here (_lookup_member) and its own
    // rule after the lookup (enforceMemberChange).
    enforceMember(ctx, action: MemberAction, image) {
      if (!secureRbac && !ctx.isAdmin) {
        switch (action) {
          case 'add_member':
            if (!ownsImage(ctx, image)) throw new Forbidden('You are not permitted to create image members for the image.');
            break;
          case 'modify_member':
            // Glance compares the projects as they are, so a caller without a project cannot
            // answer for an ownerless image's members either.
            if (ctx.projectId === image.owner) throw new Forbidden("You are not permitted to modify 'status' on this image member.");
            break;
          case 'delete_member':
            // Glance lets a caller without a project delete members of an ownerless image
            // (None == None); Iris requires a real owner, like every other owner-only action.
            if (!ownsImage(ctx, image)) throw new Forbidden('You cannot delete image member.');
            break;
          default:
            break;
        }
      }
      enforceOnImage(ctx, 'get_image', image);
      const target = imageTarget(ctx, image);
      const rule = action === 'modify_member' || action === 'delete_member' ? 'get_member' : action;
      if (!allowed(ctx, rule, target)) throw refused(rule);
    },

    enforceMemberChange(ctx, action, image) {
      enforceOnImage(ctx, 'get_image', image);
      if (!allowed(ctx, action, imageTarget(ctx, image))) throw refused(action);
    },

    canSeeMember(ctx, image, memberId) {
      // Glance's _image_member_find: admins see every membership, others the ones of images
      // they own and their own. Glance matches a caller without a project to ownerless
      // images (owner IS NULL) and so shows it their whole member lists; Iris does not.
      if (ctx.isAdmin) return true;
      if (ctx.projectId === null) return false;
      return image.owner === ctx.projectId || memberId === ctx.projectId;
    },
  };
}

/** oslo.policy's refusal (Glance's exception.Forbidden with the action). */
function refused(rule: string): Forbidden {
  return new Forbidden(`You are not authorized to complete ${rule} action.`);
}

function ownsImage(ctx: RequestContext, image: Image): boolean {
  return ctx.projectId !== null && image.owner === ctx.projectId;
}

/** oslo.policy's token scope: system, domain or project. */
function tokenScope(ctx: RequestContext): 'system' | 'domain' | 'project' {
  if (ctx.systemScope) return 'system';
  if (ctx.domainId) return 'domain';
  return 'project';
}

/**
 * The caller as oslo.context's to_policy_values() gives it to oslo.policy. Glance adds
 * nothing to it, so `is_admin` is not there and a rule `is_admin:True` is never true in
 * Glance either; `is_admin_project` is oslo.context's default, true.
 */
export function credentialsOf(ctx: RequestContext): Credentials {
  const creds: Record<string, PolicyValue> = {
    user_id: ctx.userId,
    user_domain_id: ctx.userDomainId ?? null,
    system_scope: ctx.systemScope ?? null,
    domain_id: ctx.domainId ?? null,
    project_id: ctx.projectId,
    project_domain_id: ctx.projectDomainId ?? null,
    roles: [...ctx.roles],
    is_admin_project: true,
    service_user_id: null,
    service_user_domain_id: null,
    service_project_id: null,
    service_project_domain_id: null,
    service_roles: [...(ctx.serviceRoles ?? [])],
  };
  // oslo.policy also offers the system scope under its old name.
  if (ctx.systemScope) creds.system = ctx.systemScope;
  return creds;
}

/**
 * Glance's ImageTarget: the image's attributes (not its locations), `id`, `project_id`
 * (= owner) and `member_id` (= the caller's project when the image is shared with it, as
 * Glance's ImageRepo sets `member` for images found through a membership), then the extra
 * properties. Dates are Python's `str()` of a naive datetime.
 */
export function imageTarget(ctx: RequestContext, image: Image): Target {
  const member = image.visibility === 'shared' && ctx.projectId !== image.owner ? ctx.projectId : null;
  const target: Record<string, PolicyValue> = {};
  for (const [key, value] of Object.entries(image.properties)) target[key] = value;
  Object.assign(target, {
    id: image.id,
    image_id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.os_hidden,
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    owner: image.owner,
    project_id: image.owner,
    member,
    member_id: member,
    size: image.size,
    virtual_size: image.virtual_size,
    disk_format: image.disk_format,
    container_format: image.container_format,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    created_at: pythonDate(image.created_at),
    updated_at: pythonDate(image.updated_at),
    tags: [...image.tags],
    extra_properties: { ...image.properties },
  } satisfies Record<string, PolicyValue>);
  return target;
}

/** glance/api/v2/policy.py ImageAPIPolicy's target for an image not created yet. */
export function proposedTarget(ctx: RequestContext, proposed: ProposedImage): Target {
  const owner = proposed.owner !== undefined ? proposed.owner : ctx.projectId;
  return { project_id: owner, owner, visibility: proposed.visibility ?? 'private' };
}

function pythonDate(date: Date): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  const ms = date.getUTCMilliseconds();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === 0 ? '' : `.${String(ms).padStart(3, '0')}000`}`;
}

/** Where the rules come from: Glance's defaults for the mode, overridden by a policy file. */
export interface PolicyRuleSource {
  readonly enforceNewDefaults: boolean;
  /** Absolute path, or null for none. */
  readonly policyFile: string | null;
}

/**
 * Builds the effective rule set at start. Throws PolicyFileError with a message naming the
 * file and rule for any problem, so that a bad file stops the server instead of changing
 * who may do what.
 */
export function loadPolicyRules(source: PolicyRuleSource): RuleSet {
  const file = source.policyFile === null ? null : readPolicyFile(source.policyFile);
  const adminRule = file?.rules.get('context_is_admin');
  if (adminRule !== undefined && adminRule.trim() !== 'role:admin') {
    // Who is an administrator is decided by the authentication layer (the admin role);
    // a different rule here would silently disagree with it.
    throw new PolicyFileError(
      `policy file ${file!.path}, rule "context_is_admin": Iris only supports "role:admin" (the admin flag comes from the admin role)`,
    );
  }
  try {
    return compileRuleSet(effectiveRuleTexts({ enforceNewDefaults: source.enforceNewDefaults, fileRules: file?.rules }));
  } catch (e) {
    if (e instanceof RuleSetError) throw new PolicyFileError(`policy file ${file?.path ?? '(none)'}: ${e.message}`, { cause: e });
    throw e;
  }
}
