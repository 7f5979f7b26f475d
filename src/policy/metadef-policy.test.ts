import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext } from '../domain/context.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import type { MetadefNamespace } from '../domain/metadef.js';
import type { MetadefRule } from '../domain/metadef-ports.js';
import { effectiveRuleTexts } from './glance-defaults.js';
import { createMetadefPolicy } from './metadef-policy.js';
import { compileRuleSet } from './rule-set.js';

const ctx = (projectId: string, roles: string[]): RequestContext => ({ projectId, userId: 'u', roles, isAdmin: roles.includes('admin'), requestId: 'r' });
const ns = (visibility: string | null, owner = 'owner'): MetadefNamespace => ({
  id: 1, namespace: 'n', display_name: null, description: null, visibility, protected: false, owner,
  created_at: new Date(0), updated_at: null,
});

function outcome(mode: 'legacy' | 'new', who: RequestContext, rule: MetadefRule, target?: MetadefNamespace): string {
  const policy = createMetadefPolicy({ rules: compileRuleSet(effectiveRuleTexts({ enforceNewDefaults: mode === 'new' })) });
  try {
    policy.enforce(who, rule, target);
    return 'ok';
  } catch (e) {
    if (e instanceof NotFound) return 'NotFound';
    if (e instanceof Forbidden) return 'Forbidden';
    throw e;
  }
}

const reader = ctx('other', ['reader']);
const owner = ctx('owner', ['member', 'reader']);
const admin = ctx('other', ['admin']);
const nobody = ctx('other', ['viewer']);

test('legacy defaults: reads open to anyone, writes admin-only (403, the namespace stays visible)', () => {
  assert.equal(outcome('legacy', nobody, 'get_metadef_namespace', ns('private')), 'ok');
  assert.equal(outcome('legacy', nobody, 'get_metadef_namespaces'), 'ok');
  assert.equal(outcome('legacy', owner, 'add_metadef_tag', ns('private')), 'Forbidden');
  assert.equal(outcome('legacy', owner, 'add_metadef_namespace'), 'Forbidden');
  assert.equal(outcome('legacy', admin, 'delete_metadef_namespace', ns('private')), 'ok');
});

test('new defaults: readers of the project or of public namespaces; a refused write hides what cannot be read', () => {
  assert.equal(outcome('new', reader, 'get_metadef_namespace', ns('public')), 'ok');
  // A namespace without a stored visibility is private for the rules too.
  assert.equal(outcome('new', reader, 'get_metadef_namespace', ns(null)), 'NotFound');
  assert.equal(outcome('new', owner, 'get_metadef_objects', ns(null)), 'ok');
  assert.equal(outcome('new', reader, 'add_metadef_object', ns('public')), 'Forbidden');
  assert.equal(outcome('new', reader, 'add_metadef_object', ns('private')), 'NotFound');
  // Glance hides even the list from a caller who may not get a namespace of its own project.
  assert.equal(outcome('new', nobody, 'get_metadef_namespaces'), 'NotFound');
  assert.equal(outcome('new', admin, 'modify_metadef_property', ns('private')), 'ok');
});
