import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Unauthorized } from '../domain/errors.js';
import { createApiKeyAuthenticator } from './api-key-authenticator.js';
import { createApiKey, revokeApiKey } from './api-key-store.js';

const quiet = { info() {}, warn() {}, error() {} };

function setup(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'iris-api-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'api-keys.json');
  const clock = { now: 1_000_000 };
  const key = createApiKey(file, { project: 'p1', user: 'u1', roles: ['member'] });
  const auth = createApiKeyAuthenticator({ file, logger: quiet, recheckMs: 1000, now: () => clock.now });
  const call = (token: string) => auth.authenticate({ headers: { 'x-auth-token': token }, requestId: 'req' });
  return { file, clock, key, call };
}

test('a revoked key is refused once recheckMs has passed, and not before (the file is checked at most that often)', async (t) => {
  const { file, clock, key, call } = setup(t);
  assert.equal((await call(key.secret)).projectId, 'p1');
  assert.equal(revokeApiKey(file, key.record.id), true);
  clock.now += 999;
  assert.equal((await call(key.secret)).userId, 'u1', 'the file is not re-read within recheckMs');
  clock.now += 1;
  await assert.rejects(call(key.secret), Unauthorized);
});

test('a key created after start is accepted at the next recheck', async (t) => {
  const { file, clock, key, call } = setup(t);
  await call(key.secret); // checked at t0: the next look at the file is due at t0 + recheckMs
  const added = createApiKey(file, { project: 'p2', user: 'u2', roles: ['admin'] });
  await assert.rejects(call(added.secret), Unauthorized);
  clock.now += 1000;
  const ctx = await call(added.secret);
  assert.equal(ctx.projectId, 'p2');
  assert.equal(ctx.isAdmin, true);
});
