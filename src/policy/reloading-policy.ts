/**
 * The policy, reloaded when its files change, as oslo.policy rereads a changed policy file: an
 * operator edits policy.yaml (or the property protection file) on every node and each node
 * applies it within `recheckMs` of its next request, without a restart. A file that no longer
 * parses is logged once and the rules read before stay in force (a typo never opens or closes the
 * whole API); a missing file is such an error too.
 *
 * @example
 *   const reloading = createReloadingPolicy(setup, () => createPolicyFromConfig(config), { onReload, onError });
 *   reloading.policy.enforce(ctx, 'get_image', image);
 */
import { statSync } from 'node:fs';
import type { Policy } from '../domain/policy.js';
import type { PolicySetup } from './policy-from-config.js';
import type { RuleSet } from './rule-set.js';

export interface ReloadingPolicyOptions {
  /** How often, at most, the files are looked at (one stat each): the bound for a change to apply. */
  readonly recheckMs?: number;
  /** Milliseconds, for tests. */
  readonly now?: () => number;
  readonly onReload: (setup: PolicySetup) => void;
  readonly onError: (error: unknown, files: readonly string[]) => void;
}

export interface ReloadingPolicy {
  /** Delegates to the rules in force, looking for changed files first. */
  readonly policy: Policy;
  /** The rule set in force, as a live view (checks by rule name always use the latest rules). */
  readonly rules: RuleSet;
}

/** What identifies a version of a file without reading it. */
function fingerprint(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return 'absent';
      }
    })
    .join('|');
}

export function createReloadingPolicy(initial: PolicySetup, reload: () => PolicySetup, options: ReloadingPolicyOptions): ReloadingPolicy {
  const recheckMs = options.recheckMs ?? 1000;
  const now = options.now ?? Date.now;
  let setup = initial;
  // The version last tried, loaded or not: a broken file is reported once, not on every request.
  let seen = fingerprint(initial.files);
  let checkedAt = now();

  function current(): PolicySetup {
    if (setup.files.length === 0) return setup;
    const t = now();
    if (t - checkedAt < recheckMs) return setup;
    checkedAt = t;
    const print = fingerprint(setup.files);
    if (print === seen) return setup;
    seen = print;
    try {
      setup = reload();
      seen = fingerprint(setup.files);
      options.onReload(setup);
    } catch (error) {
      options.onError(error, setup.files);
    }
    return setup;
  }

  const policy: Policy = {
    enforce: (ctx, action, image) => current().policy.enforce(ctx, action, image),
    enforceCreate: (ctx, proposed) => current().policy.enforceCreate(ctx, proposed),
    canList: (ctx, image) => current().policy.canList(ctx, image),
    propertyAllowed: (ctx, name, op) => current().policy.propertyAllowed(ctx, name, op),
    canSee: (ctx, image, membership) => current().policy.canSee(ctx, image, membership),
    canModify: (ctx, image) => current().policy.canModify(ctx, image),
    needsMembership: (ctx, image) => current().policy.needsMembership(ctx, image),
    listScope: (ctx, visibility, memberStatus) => current().policy.listScope(ctx, visibility, memberStatus),
    enforceMember: (ctx, action, image) => current().policy.enforceMember(ctx, action, image),
    enforceMemberChange: (ctx, action, image) => current().policy.enforceMemberChange(ctx, action, image),
    canSeeMember: (ctx, image, memberId) => current().policy.canSeeMember(ctx, image, memberId),
  };
  const rules: RuleSet = {
    check: (name, target, creds) => current().rules.check(name, target, creds),
    get: (name) => current().rules.get(name),
    get texts() {
      return current().rules.texts;
    },
    get undefinedReferences() {
      return current().rules.undefinedReferences;
    },
  };
  return { policy, rules };
}
