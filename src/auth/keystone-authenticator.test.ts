import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceUnavailable, Unauthorized } from '../domain/errors.js';
import { createKeystoneAuthenticator, type KeystoneAuthOptions } from './keystone-authenticator.js';
import { KeystoneRefusedError, KeystoneUnavailableError, type KeystoneClient } from './keystone-client.js';

const HOUR = 3600_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as KeystoneAuthOptions['logger'];

function tokenBody(project: string, roles: string[], expiresAtMs: number): unknown {
  return {
    token: {
      user: { id: `user-of-${project}` },
      project: { id: project, name: project },
      roles: roles.map((name) => ({ name })),
      expires_at: new Date(expiresAtMs).toISOString(),
    },
  };
}

/** A scripted Keystone: tokens it knows, the service tokens it accepts, and counters. */
function fakeKeystone(t: { now: number }) {
  const known = new Map<string, unknown>();
  const state = {
    issued: 0,
    validations: 0,
    acceptedService: new Set<string>(),
    refusePassword: false,
    hang: false,
    down: false,
    allowExpiredAsked: [] as boolean[],
    /** Why each hanging validation was given up (the abort reason of its signal). */
    abandoned: [] as unknown[],
  };
  const client: KeystoneClient = {
    baseUrl: 'http://keystone.test/v3',
    async issueToken(_creds, { signal }) {
      if (state.down) throw new KeystoneUnavailableError('down');
      if (state.refusePassword) throw new KeystoneRefusedError('refused the service credentials');
      state.issued++;
      const token = `svc-${state.issued}`;
      state.acceptedService.add(token);
      await Promise.resolve(signal);
      return { token, expiresAt: new Date(t.now + HOUR).toISOString() };
    },
    async validateToken(serviceToken, subject, { allowExpired, signal }) {
      if (state.down) throw new KeystoneUnavailableError('down');
      if (state.hang) {
        await new Promise((_, reject) =>
          signal.addEventListener(
            'abort',
            () => {
              state.abandoned.push(signal.reason);
              reject(signal.reason);
            },
            { once: true },
          ),
        );
      }
      state.validations++;
      state.allowExpiredAsked.push(allowExpired);
      if (!state.acceptedService.has(serviceToken)) throw new KeystoneRefusedError('no longer accepts the service token');
      const body = known.get(subject) as { token: { expires_at: string } } | undefined;
      if (body === undefined) return null;
      if (!allowExpired && Date.parse(body.token.expires_at) <= t.now) return null;
      return body;
    },
    async close() {},
  };
  return { client, known, state };
}

function setup(overrides: Partial<KeystoneAuthOptions> = {}) {
  const t = { now: Date.UTC(2030, 0, 1) };
  const ks = fakeKeystone(t);
  const auth = createKeystoneAuthenticator({
    client: ks.client,
    credentials: { username: 'glance', password: 'pw', userDomainName: 'Default', projectName: 'service', projectDomainName: 'Default' },
    wwwAuthenticateUri: 'http://keystone.test/v3',
    serviceTokenRoles: ['service'],
    serviceTokenRolesRequired: false,
    cacheTimeMs: 300_000,
    cacheSize: 100,
    timeoutMs: 200,
    logger: quiet,
    now: () => t.now,
    ...overrides,
  });
  const call = (headers: Record<string, string>) => auth.authenticate({ headers, requestId: 'req' });
  return { t, ks, auth, call };
}

test('a valid token gives its identity; the second use comes from the cache', async () => {
  const { t, ks, call } = setup();
  ks.known.set('tok', tokenBody('p1', ['member', 'reader'], t.now + HOUR));
  const ctx = await call({ 'x-auth-token': 'tok', 'x-project-id': 'forged', 'x-roles': 'admin' });
  assert.equal(ctx.projectId, 'p1');
  assert.deepEqual(ctx.roles, ['member', 'reader']);
  assert.equal(ctx.isAdmin, false);
  await call({ 'x-auth-token': 'tok' });
  assert.equal(ks.state.validations, 1);
  assert.equal(ks.state.issued, 1, 'one service token for both');
});

test('no, malformed or unknown token: Unauthorized with the Keystone challenge', async () => {
  const { call } = setup();
  const cases: Record<string, string>[] = [
    {},
    { 'x-auth-token': '' },
    { 'x-auth-token': 'a b' },
    { 'x-auth-token': 'x'.repeat(9000) },
    { 'x-auth-token': 'nope' },
  ];
  for (const headers of cases) {
    await assert.rejects(call(headers), (e: unknown) => e instanceof Unauthorized && e.challenge === 'Keystone uri="http://keystone.test/v3"');
  }
});

test('cached tokens are never used past their expiry, nor past the cache time', async () => {
  const { t, ks, call } = setup();
  ks.known.set('short', tokenBody('p1', [], t.now + 10_000));
  ks.known.set('long', tokenBody('p1', [], t.now + HOUR));
  await call({ 'x-auth-token': 'short' });
  await call({ 'x-auth-token': 'long' });
  t.now += 10_000;
  await assert.rejects(call({ 'x-auth-token': 'short' }), Unauthorized);
  ks.known.delete('long'); // revoked
  await call({ 'x-auth-token': 'long' }); // still cached: the documented bound
  t.now += 300_000;
  await assert.rejects(call({ 'x-auth-token': 'long' }), Unauthorized);
});

test('concurrent checks of one token share one Keystone call', async () => {
  const { t, ks, call } = setup();
  ks.known.set('tok', tokenBody('p1', [], t.now + HOUR));
  await Promise.all(Array.from({ length: 10 }, () => call({ 'x-auth-token': 'tok' })));
  assert.equal(ks.state.validations, 1);
  assert.equal(ks.state.issued, 1);
});

test('a refused service token is renewed once; refused service credentials are 503', async () => {
  const { t, ks, call } = setup({ cacheTimeMs: 0 });
  ks.known.set('tok', tokenBody('p1', [], t.now + HOUR));
  await call({ 'x-auth-token': 'tok' });
  ks.state.acceptedService.clear(); // Keystone forgot the service token (revoked, rotated keys)
  await call({ 'x-auth-token': 'tok' });
  assert.equal(ks.state.issued, 2);
  ks.state.acceptedService.clear();
  ks.state.refusePassword = true;
  await assert.rejects(call({ 'x-auth-token': 'tok' }), (e: unknown) => e instanceof ServiceUnavailable && /Keystone service/.test(e.message));
});

test('Keystone down or not answering: 503 within the timeout', async () => {
  const logged: string[] = [];
  const logger = { ...quiet, error: (_obj: unknown, msg: string) => logged.push(msg) } as unknown as KeystoneAuthOptions['logger'];
  const { t, ks, call } = setup({ logger });
  ks.known.set('tok', tokenBody('p1', [], t.now + HOUR));
  ks.state.hang = true;
  // AbortSignal.timeout does not keep the process alive (the server's socket does, in Iris).
  const alive = setInterval(() => {}, 1000);
  await assert.rejects(call({ 'x-auth-token': 'tok' }), ServiceUnavailable).finally(() => clearInterval(alive));
  // Given up by the request's own deadline (AbortSignal.timeout of timeoutMs), and said so.
  assert.equal(ks.state.abandoned.length, 1);
  assert.equal((ks.state.abandoned[0] as Error).name, 'TimeoutError');
  assert.deepEqual(logged, ['Unable to validate token: Keystone did not answer within 200 ms']);
  ks.state.hang = false;
  ks.state.down = true;
  await assert.rejects(call({ 'x-auth-token': 'tok' }), ServiceUnavailable);
});

test('X-Service-Token: service role allows an expired user token; invalid or role-less ones per the options', async () => {
  const { t, ks, call } = setup();
  ks.known.set('expired', tokenBody('p1', ['member'], t.now - 1000));
  ks.known.set('svc', tokenBody('service', ['service'], t.now + HOUR));
  ks.known.set('member', tokenBody('p2', ['member'], t.now + HOUR));
  await assert.rejects(call({ 'x-auth-token': 'expired' }), Unauthorized);
  const ctx = await call({ 'x-auth-token': 'expired', 'x-service-token': 'svc' });
  assert.equal(ctx.projectId, 'p1');
  assert.deepEqual(ctx.serviceRoles, ['service']);
  await assert.rejects(call({ 'x-auth-token': 'expired', 'x-service-token': 'member' }), Unauthorized);
  await assert.rejects(call({ 'x-auth-token': 'member', 'x-service-token': 'bogus' }), Unauthorized);
  const ok = await call({ 'x-auth-token': 'member', 'x-service-token': 'member' });
  assert.deepEqual(ok.serviceRoles, ['member'], 'accepted, granting nothing, when roles are not required');

  const strict = setup({ serviceTokenRolesRequired: true });
  strict.ks.known.set('member', tokenBody('p2', ['member'], strict.t.now + HOUR));
  await assert.rejects(strict.call({ 'x-auth-token': 'member', 'x-service-token': 'member' }), Unauthorized);
});
