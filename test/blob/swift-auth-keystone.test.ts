/**
 * The swift driver's auth v3 against a real Keystone (test/helpers/keystone.ts): Glance's
 * `project:user` form, the object-store endpoint picked from a real catalog by interface and
 * region (with the project id Keystone substitutes), and the token's expiry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSwiftAuth, SwiftAuthError } from '../../src/blob/drivers/swift-auth.js';
import { requireKeystone, startKeystone, type KeystoneProcess, type TestCloud } from '../helpers/keystone.js';

describe('swift auth v3 against a real Keystone', { skip: !requireKeystone() && 'Keystone is not installed (see the SKIP line above)' }, () => {
  let keystone: KeystoneProcess;
  let cloud: TestCloud;
  before(async () => {
    keystone = await startKeystone();
    cloud = await keystone.populate();
    const service = (await keystone.admin('POST', '/services', { service: { type: 'object-store', name: 'swift' } })).body.service.id;
    await keystone.admin('POST', '/regions', { region: { id: 'RegionTwo' } });
    for (const [iface, region, url] of [
      ['public', 'RegionOne', 'http://swift-one.example/v1/AUTH_%(project_id)s'],
      ['internal', 'RegionOne', 'http://swift-one-internal.example/v1/AUTH_%(project_id)s'],
      ['public', 'RegionTwo', 'http://swift-two.example/v1/AUTH_%(project_id)s'],
    ] as const) {
      const r = await keystone.admin('POST', '/endpoints', { endpoint: { service_id: service, interface: iface, url, region_id: region } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(() => keystone?.stop());

  const opts = { endpointType: 'publicURL', serviceType: 'object-store', expireSoonSeconds: 60 };

  test('project:user authenticates; the catalog gives the storage URL by interface and region', async () => {
    const creds = { authAddress: keystone.url, authVersion: '3', user: `demo:${cloud.users.alice.name}`, key: cloud.users.alice.password, userDomainId: 'default', projectDomainId: 'default' };
    const one = await createSwiftAuth(creds, opts).session();
    assert.equal(one.storageUrl, `http://swift-one.example/v1/AUTH_${cloud.projects.demo.id}`);
    assert.ok(one.expiresAt! > Date.now() + 60_000, 'expiry from expires_at');
    assert.match(one.token, /^gAAAAA/, 'a fernet token');
    const internal = await createSwiftAuth(creds, { ...opts, endpointType: 'internalURL' }).session();
    assert.equal(internal.storageUrl, `http://swift-one-internal.example/v1/AUTH_${cloud.projects.demo.id}`);
    const two = await createSwiftAuth(creds, { ...opts, region: 'RegionTwo' }).session();
    assert.equal(two.storageUrl, `http://swift-two.example/v1/AUTH_${cloud.projects.demo.id}`);
    // Domain by name works as well as by id.
    const byName = await createSwiftAuth({ ...creds, userDomainId: undefined, userDomainName: 'Default' }, opts).session();
    assert.equal(byName.storageUrl, one.storageUrl);
  });

  test('a wrong key or project is SwiftAuthError with Keystone’s status', async () => {
    const bad = createSwiftAuth({ authAddress: keystone.url, authVersion: '3', user: `demo:${cloud.users.alice.name}`, key: 'wrong' }, opts);
    await assert.rejects(bad.session(), (e: unknown) => e instanceof SwiftAuthError && e.status === 401);
    const other = createSwiftAuth({ authAddress: keystone.url, authVersion: '3', user: `alt:${cloud.users.alice.name}`, key: cloud.users.alice.password }, opts);
    await assert.rejects(other.session(), SwiftAuthError);
  });
});
