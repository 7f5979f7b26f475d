import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFromIdentity, parseKeystoneTime, parseTokenBody } from './keystone-token.js';

const projectToken = {
  token: {
    methods: ['password'],
    user: { domain: { id: 'default', name: 'Default' }, id: 'u1', name: 'alice', password_expires_at: null },
    audit_ids: ['a'],
    expires_at: '2030-01-02T03:04:05.678000Z',
    issued_at: '2030-01-02T02:04:05.000000Z',
    project: { domain: { id: 'default', name: 'Default' }, id: 'p1', name: 'demo' },
    is_domain: false,
    roles: [
      { id: 'r1', name: 'Member' },
      { id: 'r2', name: 'reader' },
    ],
    catalog: [{ type: 'image', name: 'glance', id: 's1', endpoints: [{ interface: 'public', url: 'http://i', region: 'R', region_id: 'R', id: 'e' }] }],
  },
};

test('a project-scoped token: ids, names, lower-cased roles, catalog, expiry', () => {
  const id = parseTokenBody(projectToken);
  assert.equal(id.userId, 'u1');
  assert.equal(id.userName, 'alice');
  assert.equal(id.userDomainId, 'default');
  assert.equal(id.projectId, 'p1');
  assert.equal(id.projectName, 'demo');
  assert.equal(id.projectDomainId, 'default');
  assert.equal(id.domainId, null);
  assert.equal(id.systemScope, null);
  assert.deepEqual(id.roles, ['member', 'reader']);
  assert.equal(id.catalog[0]!.type, 'image');
  assert.equal(id.expiresAtMs, Date.UTC(2030, 0, 2, 3, 4, 5, 678));

  const ctx = contextFromIdentity(id, 'req-1', ['service']);
  assert.equal(ctx.projectId, 'p1');
  assert.equal(ctx.userId, 'u1');
  assert.equal(ctx.isAdmin, false);
  assert.deepEqual(ctx.serviceRoles, ['service']);
  assert.equal(ctx.requestId, 'req-1');
});

test('admin comes from the admin role; system and domain scopes carry no project', () => {
  const system = parseTokenBody({
    token: { user: { id: 'u' }, expires_at: '2030-01-01T00:00:00Z', system: { all: true }, roles: [{ name: 'admin' }] },
  });
  assert.equal(system.systemScope, 'all');
  assert.equal(system.projectId, null);
  assert.equal(contextFromIdentity(system, 'r').isAdmin, true);
  const domain = parseTokenBody({ token: { user: { id: 'u' }, expires_at: '2030-01-01T00:00:00Z', domain: { id: 'd1' } } });
  assert.equal(domain.domainId, 'd1');
  assert.deepEqual(domain.roles, []);
  assert.deepEqual(contextFromIdentity(domain, 'r').serviceRoles, []);
});

test('bodies that are not tokens are refused', () => {
  assert.throws(() => parseTokenBody(null), /no "token"/);
  assert.throws(() => parseTokenBody({ token: { expires_at: '2030-01-01T00:00:00Z' } }), /user\.id/);
  assert.throws(() => parseTokenBody({ token: { user: { id: 'u' } } }), /expires_at/);
  assert.throws(() => parseTokenBody({ token: { user: { id: 'u' }, expires_at: 'soon' } }), /timestamp/);
});

test("Keystone's timestamps: Z, offsets, and no zone meaning UTC", () => {
  assert.equal(parseKeystoneTime('2026-11-26T01:56:03'), Date.UTC(2026, 10, 26, 1, 56, 3));
  assert.equal(parseKeystoneTime('2026-11-26T01:56:03.000000Z'), Date.UTC(2026, 10, 26, 1, 56, 3));
  assert.equal(parseKeystoneTime('2026-11-26T01:56:03.5+01:00'), Date.UTC(2026, 10, 26, 0, 56, 3, 500));
});
