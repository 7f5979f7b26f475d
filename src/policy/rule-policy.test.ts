import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext } from '../domain/context.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import type { Image, Visibility } from '../domain/image.js';
import type { Policy } from '../domain/policy.js';
import { effectiveRuleTexts, GLANCE_RULE_DEFAULTS } from './glance-defaults.js';
import { createRulePolicy, credentialsOf, imageTarget } from './rule-policy.js';
import { compileRuleSet } from './rule-set.js';

function ctx(projectId: string | null, roles: string[], extra: Partial<RequestContext> = {}): RequestContext {
  return { projectId, userId: 'u', roles, isAdmin: projectId === null ? true : roles.includes('admin'), requestId: 'r', ...extra };
}
const noauthAdmin = ctx(null, []);
const ownerMember = ctx('owner', ['member', 'reader']);
const ownerReader = ctx('owner', ['reader']);
const otherMember = ctx('other', ['member', 'reader']);
const otherAdmin = ctx('other', ['admin', 'member', 'reader']);

function image(visibility: Visibility, owner: string | null = 'owner'): Image {
  const at = new Date('2024-01-02T03:04:05.678Z');
  return {
    id: 'i1', name: 'n', status: 'active', visibility, protected: false, os_hidden: false, checksum: null,
    os_hash_algo: null, os_hash_value: null, owner, size: null, virtual_size: null, disk_format: null,
    container_format: null, min_ram: 0, min_disk: 0, created_at: at, updated_at: at, tags: ['t'],
    properties: { os_distro: 'cirros' }, locations: [],
  };
}

function policyFor(mode: 'legacy' | 'new', fileRules?: Record<string, string>, enforceScope = false): Policy {
  const enforceNewDefaults = mode === 'new';
  const rules = compileRuleSet(effectiveRuleTexts({ enforceNewDefaults, fileRules: fileRules && new Map(Object.entries(fileRules)) }));
  return createRulePolicy({ rules, secureRbac: enforceNewDefaults, enforceScope });
}

/** 'ok', or the error's class name. */
function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof NotFound) return 'NotFound';
    if (e instanceof Forbidden) return 'Forbidden';
    throw e;
  }
}

test('legacy mode: every deprecated rule is ORed in; publicize_image stays admin-only', () => {
  const texts = effectiveRuleTexts({ enforceNewDefaults: false });
  assert.equal(texts.get('default'), '(@) or (role:admin)');
  assert.match(texts.get('get_image')!, /^\(role:admin or .*\) or \(rule:default\)$/);
  assert.equal(texts.get('publicize_image'), 'role:admin');
  assert.equal(texts.get('copy_image'), 'role:admin');
  const newTexts = effectiveRuleTexts({ enforceNewDefaults: true });
  assert.equal(newTexts.get('modify_image'), 'role:admin or (role:member and project_id:%(project_id)s)');
  // 18 image and member rules and 3 task rules fall back to rule:default.
  assert.equal(GLANCE_RULE_DEFAULTS.filter((r) => r.deprecated === 'rule:default').length, 21);
});

test('legacy mode: owners and admins change images; others get "You do not own this image"', () => {
  const p = policyFor('legacy');
  const img = image('shared');
  for (const action of ['modify_image', 'delete_image', 'upload_image', 'deactivate', 'reactivate'] as const) {
    assert.equal(outcome(() => p.enforce(ownerMember, action, img)), 'ok');
    assert.equal(outcome(() => p.enforce(ownerReader, action, img)), 'ok', 'legacy mode ignores roles');
    assert.equal(outcome(() => p.enforce(otherAdmin, action, img)), 'ok');
    assert.equal(outcome(() => p.enforce(noauthAdmin, action, img)), 'ok');
    assert.throws(() => p.enforce(otherMember, action, img), /You do not own this image/);
  }
  assert.equal(outcome(() => p.enforce(otherMember, 'download_image', img)), 'ok');
  assert.equal(outcome(() => p.enforce(otherMember, 'get_image', img)), 'ok');
});

test('legacy mode: publicize needs the admin role (the project-less admin has none)', () => {
  const p = policyFor('legacy');
  assert.equal(outcome(() => p.enforce(otherAdmin, 'publicize_image', image('private'))), 'ok');
  assert.throws(() => p.enforce(noauthAdmin, 'publicize_image', image('private')), /not authorized to complete publicize_image/);
  assert.equal(outcome(() => p.enforce(ownerMember, 'communitize_image', image('private'))), 'ok');
});

test('create: add_image on the proposed owner, then visibility, then the same-owner check', () => {
  const legacy = policyFor('legacy');
  assert.equal(outcome(() => legacy.enforceCreate(ownerMember, {})), 'ok');
  assert.throws(() => legacy.enforceCreate(ownerMember, { owner: 'someone' }), /You are not permitted to create images owned by 'someone'\./);
  assert.throws(() => legacy.enforceCreate(ownerMember, { visibility: 'public' }), /publicize_image/);
  assert.equal(outcome(() => legacy.enforceCreate(otherAdmin, { owner: 'someone', visibility: 'public' })), 'ok');
  const fresh = policyFor('new');
  assert.throws(() => fresh.enforceCreate(ownerReader, {}), /not authorized to complete add_image/);
  assert.throws(() => fresh.enforceCreate(ownerMember, { owner: 'someone' }), /owned by 'someone'$/);
  assert.equal(outcome(() => fresh.enforceCreate(ownerMember, { visibility: 'community' })), 'ok');
  assert.equal(outcome(() => fresh.enforceCreate(noauthAdmin, {})), 'Forbidden', 'no roles: the new rules refuse');
});

test('new defaults: readers read, members write, image members download; refusals of unseen images are NotFound', () => {
  const p = policyFor('new');
  const priv = image('private');
  assert.equal(outcome(() => p.enforce(ownerReader, 'get_image', priv)), 'ok');
  assert.equal(outcome(() => p.enforce(ownerReader, 'modify_image', priv)), 'Forbidden');
  assert.equal(outcome(() => p.enforce(ownerReader, 'download_image', priv)), 'Forbidden');
  assert.equal(outcome(() => p.enforce(ownerMember, 'modify_image', priv)), 'ok');
  // The rules alone decide: a member of another project fails get_image on a private image.
  assert.equal(outcome(() => p.enforce(otherMember, 'modify_image', priv)), 'NotFound');
  assert.equal(outcome(() => p.enforce(otherMember, 'get_image', priv)), 'NotFound');
  const shared = image('shared');
  assert.equal(outcome(() => p.enforce(otherMember, 'download_image', shared)), 'ok');
  assert.equal(outcome(() => p.enforce(otherMember, 'modify_image', shared)), 'Forbidden');
  assert.equal(outcome(() => p.enforce(otherAdmin, 'modify_image', priv)), 'ok');
  assert.equal(p.canList(ownerReader, priv), true);
  assert.equal(p.canList(otherMember, priv), false);
  assert.equal(outcome(() => p.enforce(ownerReader, 'get_images')), 'ok');
  assert.equal(outcome(() => p.enforce(ctx('owner', ['observer']), 'get_images')), 'Forbidden');
});

test('members: ownership in legacy mode, rules in both', () => {
  const legacy = policyFor('legacy');
  const shared = image('shared');
  assert.throws(() => legacy.enforceMember(otherMember, 'add_member', shared), /not permitted to create image members/);
  assert.throws(() => legacy.enforceMember(ownerMember, 'modify_member', shared), /modify 'status'/);
  assert.equal(outcome(() => legacy.enforceMember(otherMember, 'modify_member', shared)), 'ok');
  const fresh = policyFor('new');
  assert.equal(outcome(() => fresh.enforceMember(otherMember, 'modify_member', shared)), 'ok');
  // Changing a membership: get_member before the lookup, the action's rule after it.
  assert.equal(outcome(() => fresh.enforceMember(ctx('other', ['reader']), 'modify_member', shared)), 'ok');
  assert.equal(outcome(() => fresh.enforceMemberChange(ctx('other', ['reader']), 'modify_member', shared)), 'Forbidden');
  assert.equal(outcome(() => fresh.enforceMemberChange(otherMember, 'modify_member', shared)), 'ok');
  assert.equal(outcome(() => fresh.enforceMember(ctx('other', ['observer']), 'modify_member', shared)), 'NotFound');
  assert.equal(outcome(() => fresh.enforceMember(ctx('other', ['reader']), 'get_members', shared)), 'ok');
  assert.equal(outcome(() => fresh.enforceMember(otherMember, 'add_member', shared)), 'Forbidden');
});

test('a policy file rule replaces the default entirely (no deprecated OR)', () => {
  const p = policyFor('legacy', { download_image: 'role:admin or project_id:%(owner)s', publicize_image: '' });
  assert.equal(outcome(() => p.enforce(ownerReader, 'download_image', image('public'))), 'ok');
  assert.equal(outcome(() => p.enforce(otherMember, 'download_image', image('public'))), 'Forbidden');
  assert.equal(outcome(() => p.enforce(otherMember, 'publicize_image', image('public'))), 'ok');
  // Overriding `default` changes every legacy rule that refers to it.
  const strict = policyFor('legacy', { default: 'role:admin' });
  assert.equal(outcome(() => strict.enforce(otherMember, 'get_image', image('private'))), 'NotFound');
  assert.equal(outcome(() => strict.enforce(ownerReader, 'get_image', image('private'))), 'ok');
  assert.equal(outcome(() => strict.enforce(ownerReader, 'modify_image', image('private'))), 'Forbidden');
  assert.equal(outcome(() => policyFor('legacy').enforce(ownerReader, 'modify_image', image('private'))), 'ok');
});

test('enforce_scope refuses system-scoped callers on project-scoped rules', () => {
  const p = policyFor('legacy', undefined, true);
  const system = ctx('owner', ['admin'], { systemScope: 'all' });
  assert.equal(outcome(() => p.enforce(system, 'get_images')), 'Forbidden');
  assert.equal(outcome(() => policyFor('legacy').enforce(system, 'get_images')), 'ok');
});

test("the target and credentials are Glance's", () => {
  const t = imageTarget(otherMember, image('shared'));
  assert.equal(t.project_id, 'owner');
  assert.equal(t.member_id, 'other');
  assert.equal(t.id, 'i1');
  assert.equal(t.os_distro, 'cirros');
  assert.equal(t.created_at, '2024-01-02 03:04:05.678000');
  assert.equal(imageTarget(ownerMember, image('shared')).member_id, null);
  assert.equal(imageTarget(otherMember, image('private')).member_id, null);
  const creds = credentialsOf(ctx('p', ['admin'], { systemScope: 'all' }));
  assert.equal(creds.is_admin, undefined, 'Glance gives oslo.policy no is_admin');
  assert.equal(creds.system, 'all');
  assert.equal(creds.is_admin_project, true);
});
