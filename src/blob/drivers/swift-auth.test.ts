// Auth v1, v2.0 and v3 against small local servers that answer as tempauth and Keystone do,
// the catalog choice (service type, interface, region) and renewal before expiry or after a 401.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { Invalid } from '../../domain/errors.js';
import { checkCredentials, createSwiftAuth, SwiftAuthError } from './swift-auth.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
let issued = 0;

const catalog = [
  { type: 'image', endpoints: [{ interface: 'public', region_id: 'R1', url: 'http://glance' }] },
  {
    type: 'object-store',
    endpoints: [
      { interface: 'public', region_id: 'R1', url: 'http://swift-r1-public/v1/AUTH_p' },
      { interface: 'internal', region_id: 'R1', url: 'http://swift-r1-internal/v1/AUTH_p' },
      { interface: 'public', region_id: 'R2', url: 'http://swift-r2-public/v1/AUTH_p' },
    ],
  },
];

before(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined });
      issued += 1;
      if (req.url === '/auth/v1.0') {
        if (req.headers['x-auth-key'] !== 'testing') return res.writeHead(401).end();
        res.writeHead(200, { 'x-storage-url': 'http://proxy/v1/AUTH_test', 'x-auth-token': `tk${issued}`, 'x-auth-token-expires': '100' }).end();
      } else if (req.url === '/v3/auth/tokens') {
        const expires = new Date(Date.now() + 3600_000).toISOString();
        res.writeHead(201, { 'x-subject-token': `v3tk${issued}`, 'content-type': 'application/json' }).end(JSON.stringify({ token: { expires_at: expires, catalog } }));
      } else if (req.url === '/v2.0/tokens') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            access: {
              token: { id: `v2tk${issued}`, expires: new Date(Date.now() + 3600_000).toISOString() },
              serviceCatalog: [{ type: 'object-store', endpoints: [{ region: 'R1', publicURL: 'http://v2-public', internalURL: 'http://v2-internal' }] }],
            },
          }),
        );
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

const catalogOpts = { endpointType: 'publicURL', serviceType: 'object-store', expireSoonSeconds: 60 };

test('v1: tempauth headers in, storage URL and token out; renewed when about to expire', async () => {
  let now = 1_000_000;
  const auth = createSwiftAuth({ authAddress: `${base}/auth/v1.0`, authVersion: '1', user: 'test:tester', key: 'testing' }, { ...catalogOpts, now: () => now });
  const s1 = await auth.session();
  assert.equal(s1.storageUrl, 'http://proxy/v1/AUTH_test');
  assert.equal(seen.at(-1)!.headers['x-auth-user'], 'test:tester');
  assert.equal(s1.expiresAt, now + 100_000);
  now += 30_000; // 70 s left: still fresh
  assert.equal(await auth.session(), s1);
  now += 20_000; // 50 s left, under the 60 s expire_soon_interval
  const s2 = await auth.session();
  assert.notEqual(s2.token, s1.token);
  // A 401 forgets the session; an older, already replaced one changes nothing.
  auth.invalidate(s1);
  assert.equal(await auth.session(), s2);
  auth.invalidate(s2);
  assert.notEqual((await auth.session()).token, s2.token);
});

test('v1: concurrent callers share one authentication; a refused key is SwiftAuthError', async () => {
  const auth = createSwiftAuth({ authAddress: `${base}/auth/v1.0`, authVersion: '1', user: 'test:tester', key: 'testing' }, catalogOpts);
  const before = seen.length;
  const [a, b] = await Promise.all([auth.session(), auth.session()]);
  assert.equal(a, b);
  assert.equal(seen.length - before, 1);
  // One waiter giving up does not cancel the authentication the others wait for.
  const shared = createSwiftAuth({ authAddress: `${base}/auth/v1.0`, authVersion: '1', user: 'test:tester', key: 'testing' }, catalogOpts);
  const controller = new AbortController();
  const quitter = shared.session(controller.signal);
  const stayer = shared.session();
  controller.abort();
  await assert.rejects(quitter, { name: 'AbortError' });
  assert.equal((await stayer).storageUrl, 'http://proxy/v1/AUTH_test');
  const bad = createSwiftAuth({ authAddress: `${base}/auth/v1.0`, authVersion: '1', user: 'test:tester', key: 'nope' }, catalogOpts);
  await assert.rejects(bad.session(), SwiftAuthError);
});

test("v3: project:user split as Glance does, domains, and the catalog's object-store endpoint", async () => {
  const creds = { authAddress: `${base}/v3`, authVersion: '3', user: 'service:glance', key: 'secret', userDomainId: 'default', projectDomainName: 'Dom' };
  const s = await createSwiftAuth(creds, catalogOpts).session();
  assert.equal(s.token, `v3tk${issued}`);
  assert.equal(s.storageUrl, 'http://swift-r1-public/v1/AUTH_p');
  const body = seen.at(-1)!.body;
  assert.deepEqual(body.auth.identity.password.user, { name: 'glance', password: 'secret', domain: { id: 'default' } });
  assert.deepEqual(body.auth.scope.project, { name: 'service', domain: { name: 'Dom' } });
  assert.ok(s.expiresAt! > Date.now());

  const r2 = await createSwiftAuth(creds, { ...catalogOpts, region: 'R2' }).session();
  assert.equal(r2.storageUrl, 'http://swift-r2-public/v1/AUTH_p');
  const internal = await createSwiftAuth(creds, { ...catalogOpts, endpointType: 'internalURL' }).session();
  assert.equal(internal.storageUrl, 'http://swift-r1-internal/v1/AUTH_p');
  const pinned = await createSwiftAuth(creds, { ...catalogOpts, endpoint: 'http://pinned/v1/AUTH_q/' }).session();
  assert.equal(pinned.storageUrl, 'http://pinned/v1/AUTH_q');
  await assert.rejects(createSwiftAuth(creds, { ...catalogOpts, region: 'R9' }).session(), /Cannot find swift service endpoint/);
  // An auth address without the version path gets /v3 added.
  await createSwiftAuth({ ...creds, authAddress: `${base}/` }, catalogOpts).session();
  assert.equal(seen.at(-1)!.url, '/v3/auth/tokens');
});

test('v2.0: tenantName + passwordCredentials, endpoint by type', async () => {
  const s = await createSwiftAuth({ authAddress: `${base}/v2.0`, authVersion: '2', user: 'service:glance', key: 'k' }, { ...catalogOpts, endpointType: 'internalURL' }).session();
  assert.equal(s.storageUrl, 'http://v2-internal');
  assert.deepEqual(seen.at(-1)!.body, { auth: { tenantName: 'service', passwordCredentials: { username: 'glance', password: 'k' } } });
});

test('credentials are checked before any request', () => {
  assert.throws(() => checkCredentials({ authAddress: 'http://k/v3', authVersion: '3', user: 'no-project', key: 'k' }), Invalid);
  assert.throws(() => checkCredentials({ authAddress: 'http://k/v3', authVersion: '4', user: 'a:b', key: 'k' }), Invalid);
  assert.throws(() => checkCredentials({ authAddress: 'k:5000', authVersion: '1', user: 'a', key: 'k' }), Invalid);
});
