/**
 * Keystone v3 password auth in the SDK. Keystone is an external service Iris does not ship, so
 * these tests use a fake Keystone (a test double: `POST /v3/auth/tokens` with a service catalog)
 * in front of a live Iris. The fake issues `peer:<project>:member` tokens, which Iris's default
 * `hybrid` auth reads as that project's identity, so the token really reaches and scopes Iris.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createIrisClient, IrisApiError, IrisClientError, type KeystonePasswordAuth } from '../../src/client/index.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { localServer, sendJson, type LocalServer } from './local-server.js';

let iris: IrisProcess;
let keystone: LocalServer;
/** Image endpoint that rejects the first token it sees (to test renewal). */
let picky: LocalServer;
let tokenSeq = 0;
/** Token prefix the fake Keystone issues next: `peer` for Iris, `tok` for the picky server. */
let issue: 'peer' | 'tok' = 'peer';

const CATALOG_EXTRA = 'http://127.0.0.1:9'; // nothing listens there: must never be chosen

before(async () => {
  iris = await startIris();
  picky = await localServer((req, res) => {
    // Only the second token is good; an always-bad mode is switched on by the token text.
    const token = String(req.headers['x-auth-token'] ?? '');
    if (token.endsWith('-1') || token.includes('always-bad')) return sendJson(res, 401, { message: 'token expired', title: 'Unauthorized' });
    sendJson(res, 200, { id: 'img', name: 'from-picky', status: 'queued', tags: [] });
  });
  keystone = await localServer((req, res, body) => {
    if (req.method !== 'POST' || req.url !== '/v3/auth/tokens') return sendJson(res, 404, { error: { message: 'not found' } });
    const auth = JSON.parse(body.toString('utf8')).auth;
    const user = auth.identity.password.user;
    if (user.name !== 'demo' || user.password !== 's3cret' || user.domain.name !== 'Default') {
      return sendJson(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
    }
    const project = auth.scope?.project?.name ?? 'unscoped';
    tokenSeq++;
    const token = issue === 'peer' ? `peer:${project}:member` : `tok-${project}-${tokenSeq}`;
    sendJson(
      res,
      201,
      {
        token: {
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          project: { name: project },
          catalog: [
            { type: 'identity', endpoints: [{ interface: 'public', region_id: 'R1', url: keystone.url }] },
            {
              type: 'image',
              endpoints: [
                { interface: 'internal', region_id: 'R1', url: CATALOG_EXTRA },
                { interface: 'public', region_id: 'R1', url: `${iris.baseUrl}/v2` },
                { interface: 'public', region_id: 'R2', url: picky.url },
              ],
            },
          ],
        },
      },
      { 'X-Subject-Token': token },
    );
  });
});

after(async () => {
  await keystone?.close();
  await picky?.close();
  await iris?.stop();
});

function auth(extra: Partial<KeystonePasswordAuth> = {}): KeystonePasswordAuth {
  return { type: 'password', authUrl: `${keystone.url}/v3`, username: 'demo', password: 's3cret', projectName: 'proj-a', ...extra };
}

test('password auth: token from Keystone, public image endpoint from the catalog, one token reused', async () => {
  issue = 'peer';
  const before = keystone.requests.length;
  const debug: string[] = [];
  const client = createIrisClient({ auth: auth({ region: 'R1' }), retries: 0, debug: (line) => debug.push(line) });
  try {
    assert.equal(await client.endpoint(), iris.baseUrl);
    const image = await client.images.create({ name: 'ks-image' });
    assert.equal(image.owner, 'proj-a', 'Iris saw the project the Keystone token is scoped to');
    await client.images.get(image.id);
    await client.images.delete(image.id);
    assert.equal(keystone.requests.length - before, 1, 'one token request for the whole session');
    const log = debug.join('\n');
    assert.match(log, /POST .*\/v3\/auth\/tokens/);
    assert.doesNotMatch(log, /s3cret|peer:proj-a/, 'neither the password nor the token appear in debug output');
  } finally {
    await client.close();
  }
});

test('interface and region select the endpoint; a missing one is a NoEndpoint error', async () => {
  issue = 'peer';
  const internal = createIrisClient({ auth: auth({ interface: 'internal' }) });
  const r2 = createIrisClient({ auth: auth({ region: 'R2' }) });
  const none = createIrisClient({ auth: auth({ region: 'R9' }) });
  try {
    assert.equal(await internal.endpoint(), CATALOG_EXTRA);
    assert.equal(await r2.endpoint(), picky.url);
    await assert.rejects(none.endpoint(), (err: unknown) => err instanceof IrisClientError && err.code === 'NoEndpoint');
  } finally {
    await Promise.all([internal.close(), r2.close(), none.close()]);
  }
});

test("wrong credentials: IrisApiError 401 with Keystone's message", async () => {
  const client = createIrisClient({ auth: auth({ password: 'nope' }) });
  try {
    await assert.rejects(client.images.get('x'), (err: unknown) => {
      assert.ok(err instanceof IrisApiError);
      assert.equal(err.status, 401);
      assert.equal(err.message, 'The request you have made requires authentication.');
      return true;
    });
  } finally {
    await client.close();
  }
});

test('a 401 from the image service renews the token once and repeats the request', async () => {
  issue = 'tok';
  tokenSeq = 0;
  const client = createIrisClient({ auth: auth({ region: 'R2' }), retries: 0 });
  try {
    const seen = picky.requests.length;
    const image = await client.images.get('img');
    assert.equal(image.name, 'from-picky');
    assert.deepEqual(
      picky.requests.slice(seen).map((r) => r.headers['x-auth-token']),
      ['tok-proj-a-1', 'tok-proj-a-2'],
    );
    // The renewed token is kept.
    await client.images.get('img');
    assert.equal(tokenSeq, 2);
  } finally {
    await client.close();
  }
});

test('a second 401 after renewal is the error (no loop)', async () => {
  issue = 'tok';
  tokenSeq = 0;
  const client = createIrisClient({ auth: auth({ region: 'R2', projectName: 'always-bad' }), retries: 3 });
  try {
    const seen = picky.requests.length;
    await assert.rejects(client.images.get('img'), (err: unknown) => err instanceof IrisApiError && err.status === 401);
    assert.equal(picky.requests.length - seen, 2);
    assert.equal(tokenSeq, 2);
  } finally {
    await client.close();
  }
});
