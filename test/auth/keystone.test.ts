/**
 * Flavor keystone against a real Keystone (test/keystone/keystone.sh: python3-keystone under
 * uWSGI, started once for this file, ~5 s): token validation as keystonemiddleware does it —
 * 401 for missing, malformed, expired and revoked tokens, identity headers ignored, 503
 * within the timeout when Keystone is slow or gone — and the OpenStack CLIs with real
 * password authentication, finding Iris through the Keystone catalog.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { describe, getBytes, json, patch, type HttpAnswer } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import {
  keystoneIrisEnv,
  requireKeystone,
  startKeystone,
  type Credentials,
  type KeystoneProcess,
  type Project,
  type TestCloud,
} from '../helpers/keystone.js';
import { GLANCE, OPENSTACK, requireTool } from '../helpers/tools.js';

const haveKeystone = requireKeystone();
const skip = haveKeystone ? false : 'Keystone (python3-keystone, uwsgi) not installed';
const STEP = { skip, timeout: 60_000 };
const haveGlance = haveKeystone && requireTool('glance', GLANCE);
const haveOsc = haveKeystone && requireTool('openstack', OPENSTACK);

/** Iris's bound on one request's exchange with Keystone, in these tests. */
const TIMEOUT_S = 2;

let keystone: KeystoneProcess;
let cloud: TestCloud;
let iris: IrisProcess;
let base: string;
const tokens: Record<'alice' | 'rita' | 'bob' | 'admin' | 'glance', string> = {} as never;
let work: string;

before(async () => {
  if (!haveKeystone) return;
  keystone = await startKeystone();
  cloud = await keystone.populate();
  iris = await startIris({
    env: keystoneIrisEnv(keystone, cloud, { IRIS__KEYSTONE_AUTHTOKEN__HTTP_CONNECT_TIMEOUT: String(TIMEOUT_S) }),
  });
  base = iris.baseUrl;
  const { users, projects } = cloud;
  const scoped: [keyof typeof tokens, Credentials, Project][] = [
    ['alice', users.alice, projects.demo],
    ['rita', users.rita, projects.demo],
    ['bob', users.bob, projects.alt],
    ['admin', users.admin, projects.admin],
    ['glance', users.glance, projects.service],
  ];
  await Promise.all(scoped.map(async ([key, user, project]) => (tokens[key] = (await keystone.issueToken(user, project)).token)));
  work = mkdtempSync(join(tmpdir(), 'iris-keystone-test-'));
});

after(async () => {
  if (!haveKeystone) return;
  await iris?.stop();
  await keystone?.stop();
  rmSync(work, { recursive: true, force: true });
});

function as(token: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return token === undefined ? extra : { 'X-Auth-Token': token, ...extra };
}

function serverTail(server: IrisProcess = iris): string {
  return `\n--- Iris log (tail) ---\n${server.logs().slice(-3000)}\n--- Keystone log (tail) ---\n${keystone.logs().slice(-2000)}`;
}

/** Waits (a little) for a server log line: the child's output arrives through a pipe, after its answer. */
async function assertLogs(server: IrisProcess, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(server.logs()) && Date.now() < deadline) await sleep(50);
  assert.match(server.logs(), pattern);
}

function assertRejected(r: HttpAnswer, what: string): void {
  assert.equal(r.status, 401, `${what}: ${describe(r)}`);
  assert.equal(r.headers.get('www-authenticate'), `Keystone uri="${keystone.url}"`, what);
  assert.deepEqual(r.body, {
    error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
  });
}

async function createImage(token: string, name: string, extra: Record<string, string> = {}): Promise<any> {
  const r = await json('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' }, as(token, extra));
  assert.equal(r.status, 201, describe(r) + serverTail());
  return r.body;
}

async function imageNames(token: string): Promise<string[]> {
  const r = await json('GET', `${base}/v2/images?limit=1000`, undefined, as(token));
  assert.equal(r.status, 200, describe(r));
  return r.body.images.map((i: { name: string }) => i.name);
}

test('/, /versions and /healthcheck stay anonymous', STEP, async () => {
  assert.equal((await json('GET', `${base}/`)).status, 300);
  assert.equal((await json('GET', `${base}/versions`)).status, 200);
  assert.equal((await fetch(`${base}/healthcheck`)).status, 200);
});

test('no token: 401 with the Keystone challenge on every /v2 path, and nothing changes', STEP, async () => {
  const kept = await createImage(tokens.alice, 'kept');
  assertRejected(await json('GET', `${base}/v2/images`), 'list');
  assertRejected(await json('GET', `${base}/v2/schemas/image`), 'schema');
  assertRejected(await json('POST', `${base}/v2/images`, { name: 'anonymous' }), 'create');
  assertRejected(await json('DELETE', `${base}/v2/images/${kept.id}`), 'delete');
  assertRejected(await patch(`${base}/v2/images/${kept.id}`, [{ op: 'replace', path: '/name', value: 'x' }]), 'patch');
  assertRejected(await json('GET', `${base}/v2/no-such-thing`), 'unknown path: 401 before 404, as Glance');
  const names = await imageNames(tokens.admin);
  assert.ok(!names.includes('anonymous'), 'an unauthenticated create made an image');
  const still = await json('GET', `${base}/v2/images/${kept.id}`, undefined, as(tokens.alice));
  assert.equal(still.status, 200, describe(still));
  assert.equal(still.body.name, 'kept');
});

test('malformed tokens: 401', STEP, async () => {
  const fernetLike = `gAAAAAB${randomBytes(150).toString('base64url')}`;
  for (const token of ['garbage', fernetLike, 'x'.repeat(9000), `${tokens.alice}x`, `tok\u00e9n`]) {
    assertRejected(await json('GET', `${base}/v2/images`, undefined, as(token)), `token ${token.slice(0, 20)}…`);
  }
});

test('forged identity headers are ignored: 401 without a token, the token decides with one', STEP, async () => {
  const forged = {
    'X-Identity-Status': 'Confirmed',
    'X-Project-Id': cloud.projects.alt.id,
    'X-Tenant-Id': cloud.projects.alt.id,
    'X-Roles': 'admin',
    'X-User-Id': cloud.users.bob.id,
  };
  assertRejected(await json('GET', `${base}/v2/images`, undefined, forged), 'headers only');
  assertRejected(await json('POST', `${base}/v2/images`, { name: 'forged' }, forged), 'headers only, create');
  // The hybrid-mode token shim means nothing here either.
  assertRejected(await json('GET', `${base}/v2/images`, undefined, as(`peer:${cloud.projects.alt.id}:admin`)), 'peer: shim');

  const img = await createImage(tokens.alice, 'alice-forged', forged);
  assert.equal(img.owner, cloud.projects.demo.id, 'owner comes from the token, not X-Project-Id');
  const publicize = await patch(`${base}/v2/images/${img.id}`, [{ op: 'replace', path: '/visibility', value: 'public' }], as(tokens.alice, forged));
  assert.equal(publicize.status, 403, `X-Roles: admin must not make a member admin: ${describe(publicize)}`);
  const asBob = await json('GET', `${base}/v2/images/${img.id}`, undefined, as(tokens.bob, { 'X-Project-Id': cloud.projects.demo.id }));
  assert.equal(asBob.status, 404, `bob is in alt whatever X-Project-Id says: ${describe(asBob)}`);
});

test('member, reader and admin identities: owner is the project id, admin by role', STEP, async () => {
  const img = await createImage(tokens.alice, 'alice-private');
  assert.equal(img.owner, cloud.projects.demo.id);
  assert.ok((await imageNames(tokens.rita)).includes('alice-private'), "a reader of demo sees demo's images");
  assert.ok(!(await imageNames(tokens.bob)).includes('alice-private'), "alt's member does not");
  assert.equal((await json('GET', `${base}/v2/images/${img.id}`, undefined, as(tokens.bob))).status, 404);
  const byAdmin = await patch(`${base}/v2/images/${img.id}`, [{ op: 'replace', path: '/visibility', value: 'public' }], as(tokens.admin));
  assert.equal(byAdmin.status, 200, `admin (role admin on project admin) publicizes: ${describe(byAdmin)}`);
  assert.ok((await imageNames(tokens.bob)).includes('alice-private'), 'now public');
  const adminImage = await createImage(tokens.admin, 'admin-own');
  assert.equal(adminImage.owner, cloud.projects.admin.id);
});

test('expired token: 401 once past expires_at, even though it was cached; a service token lets it through', STEP, async () => {
  const short = await keystone.shortLivedToken(cloud.users.alice, cloud.projects.demo, 4);
  const expiresAt = Date.parse(`${short.body.token.expires_at.replace(/Z?$/, '')}Z`);
  const first = await json('GET', `${base}/v2/images`, undefined, as(short.token));
  assert.equal(first.status, 200, describe(first) + serverTail());
  // Real time must pass for Keystone's real token: poll until Iris refuses it (the limit only
  // stops a hung test; a token refused before its expiry fails the assertion below).
  let later: HttpAnswer;
  for (;;) {
    later = await json('GET', `${base}/v2/images`, undefined, as(short.token));
    if (later.status !== 200 || Date.now() > expiresAt + 20_000) break;
    await sleep(200);
  }
  assert.ok(Date.now() >= expiresAt, `refused before its expiry: ${describe(later)}`);
  assertRejected(later, 'expired');

  // keystonemiddleware: a valid X-Service-Token with a service role allows an expired user token.
  const withService = await json('GET', `${base}/v2/images`, undefined, as(short.token, { 'X-Service-Token': tokens.glance }));
  assert.equal(withService.status, 200, `expired user token + service token: ${describe(withService)}${serverTail()}`);
  const created = await createImage(short.token, 'on-behalf', { 'X-Service-Token': tokens.glance });
  assert.equal(created.owner, cloud.projects.demo.id, "the user's project, not the service's");
  // A service token without the service role grants nothing; an invalid one is refused.
  assertRejected(
    await json('GET', `${base}/v2/images`, undefined, as(short.token, { 'X-Service-Token': tokens.bob })),
    'expired user token + non-service token',
  );
  assertRejected(
    await json('GET', `${base}/v2/images`, undefined, as(tokens.alice, { 'X-Service-Token': 'garbage' })),
    'valid user token + invalid service token',
  );
});

test('revoked token: 401 at once when not cached; within token_cache_time when cached', STEP, async () => {
  const fresh = (await keystone.issueToken(cloud.users.alice, cloud.projects.demo)).token;
  await keystone.revokeToken(fresh);
  assertRejected(await json('GET', `${base}/v2/images`, undefined, as(fresh)), 'revoked before first use');

  // A token validated once is remembered for token_cache_time (300 s here): revoking it in
  // Keystone does not reach Iris before then — the documented bound.
  const cached = (await keystone.issueToken(cloud.users.alice, cloud.projects.demo)).token;
  assert.equal((await json('GET', `${base}/v2/images`, undefined, as(cached))).status, 200);
  await keystone.revokeToken(cached);
  assert.equal((await json('GET', `${base}/v2/images`, undefined, as(cached))).status, 200, 'still cached');

  // With token_cache_time = 2 the revocation lands within 2 s.
  const quick = await startIris({
    env: keystoneIrisEnv(keystone, cloud, { IRIS__KEYSTONE_AUTHTOKEN__TOKEN_CACHE_TIME: '2' }),
  });
  try {
    const token = (await keystone.issueToken(cloud.users.alice, cloud.projects.demo)).token;
    const r = await json('GET', `${quick.baseUrl}/v2/images`, undefined, as(token));
    assert.equal(r.status, 200, describe(r) + serverTail(quick));
    await keystone.revokeToken(token);
    // How long a validation is cached is proven with a fake clock in
    // src/auth/keystone-authenticator.test.ts; here the revocation must arrive at all (the
    // 20 s limit only stops a hung test, far above token_cache_time = 2 s).
    const deadline = Date.now() + 20_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await json('GET', `${quick.baseUrl}/v2/images`, undefined, as(token))).status;
      if (status === 200) await sleep(100);
    }
    assert.equal(status, 401, serverTail(quick));
  } finally {
    await quick.stop();
  }
});

test('wrong service password: 503 (Keystone refuses Iris itself, as keystonemiddleware answers)', STEP, async () => {
  const broken = await startIris({
    env: keystoneIrisEnv(keystone, cloud, { IRIS__KEYSTONE_AUTHTOKEN__PASSWORD: 'not-the-password' }),
  });
  try {
    const r = await json('GET', `${broken.baseUrl}/v2/images`, undefined, as(tokens.alice));
    assert.equal(r.status, 503, describe(r) + serverTail(broken));
    assert.match(r.body.message ?? r.text, /Keystone service is temporarily unavailable/);
    // Keystone's refusal, not a timeout, made it 503.
    await assertLogs(broken, /refused the service credentials/);
    assert.doesNotMatch(broken.logs(), /did not answer within/);
    // Missing tokens are still 401: no need to ask Keystone about those.
    assert.equal((await json('GET', `${broken.baseUrl}/v2/images`)).status, 401);
  } finally {
    await broken.stop();
  }
});

// ------------------------------------------------------------ CLIs with password auth --

function osEnv(user: Credentials, project: Project): Record<string, string> {
  return {
    OS_AUTH_URL: keystone.url,
    OS_USERNAME: user.name,
    OS_PASSWORD: user.password,
    OS_PROJECT_NAME: project.name,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
    OS_INTERFACE: 'public',
    OS_REGION_NAME: 'RegionOne',
  };
}

async function ok(run: Promise<CliResult>): Promise<CliResult> {
  const r = await run;
  assert.equal(r.code, 0, r.describe() + serverTail());
  return r;
}

let catalogReady: Promise<void> | undefined;
/** The image service in Keystone's catalog, pointing at the Iris under test (once). */
function imageInCatalog(): Promise<void> {
  catalogReady ??= keystone.registerImageEndpoint(base);
  return catalogReady;
}

function lifecycleData(name: string): { file: string; data: Buffer } {
  const data = randomBytes(1024 * 1024 + 321);
  const file = join(work, `${name}.img`);
  writeFileSync(file, data);
  return { file, data };
}

test('glanceclient with password auth: create with data, list, show, download, delete', { ...STEP, skip: skip || (!haveGlance && 'glance not installed'), timeout: 180_000 }, async () => {
  await imageInCatalog();
  const home = makeHome();
  try {
    const env = osEnv(cloud.users.alice, cloud.projects.demo);
    const glance = (...args: string[]) => runCli(GLANCE, args, { home, env });
    const { file, data } = lifecycleData('glance');
    const created = parsePropertyTable(
      (await ok(glance('image-create', '--name', 'glance-pw', '--disk-format', 'raw', '--container-format', 'bare', '--file', file))).stdout,
    );
    const id = created.id!;
    assert.equal(created.status, 'active');
    assert.equal(created.owner, cloud.projects.demo.id);
    const listed = parseTable((await ok(glance('image-list'))).stdout);
    assert.ok(listed.some((row) => row.ID === id), 'image-list has the image');
    const shown = parsePropertyTable((await ok(glance('image-show', id))).stdout);
    assert.equal(shown.size, String(data.length));
    const out = join(work, 'glance-out.img');
    await ok(glance('image-download', '--file', out, id));
    assert.ok(readFileSync(out).equals(data), 'downloaded bytes differ');
    await ok(glance('image-delete', id));
    assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, as(tokens.alice))).status, 404);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('openstack image with password auth: create with data, list, show, save, delete', { ...STEP, skip: skip || (!haveOsc && 'openstack not installed'), timeout: 180_000 }, async () => {
  await imageInCatalog();
  const home = makeHome();
  try {
    const env = osEnv(cloud.users.bob, cloud.projects.alt);
    const osc = (...args: string[]) => runCli(OPENSTACK, args, { home, env });
    const { file, data } = lifecycleData('osc');
    const created = JSON.parse(
      (await ok(osc('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '-f', 'json', 'osc-pw'))).stdout,
    );
    const id = created.id as string;
    const listed = JSON.parse((await ok(osc('image', 'list', '-f', 'json'))).stdout) as { ID: string }[];
    assert.ok(listed.some((row) => row.ID === id), 'image list has the image');
    const shown = JSON.parse((await ok(osc('image', 'show', '-f', 'json', id))).stdout);
    assert.equal(shown.owner, cloud.projects.alt.id);
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, data.length);
    const out = join(work, 'osc-out.img');
    await ok(osc('image', 'save', '--file', out, id));
    assert.ok(readFileSync(out).equals(data), 'saved bytes differ');
    await ok(osc('image', 'delete', id));
    assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, as(tokens.bob))).status, 404);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------ Keystone outages (last) --

test('Keystone not answering: 503 within http_connect_timeout; cached tokens keep working', STEP, async () => {
  const unseen = (await keystone.issueToken(cloud.users.alice, cloud.projects.demo)).token;
  assert.equal((await json('GET', `${base}/v2/images`, undefined, as(tokens.alice))).status, 200);
  keystone.pause();
  try {
    const r = await json('GET', `${base}/v2/images`, undefined, as(unseen));
    assert.equal(r.status, 503, describe(r) + serverTail());
    assert.match(r.body.message, /Keystone service is temporarily unavailable/);
    // Given up by http_connect_timeout (the log says so, below); the timing itself is proven
    // with a fake Keystone in src/auth/keystone-authenticator.test.ts.
    const cached = await json('GET', `${base}/v2/images`, undefined, as(tokens.alice));
    assert.equal(cached.status, 200, `a cached token needs no Keystone: ${describe(cached)}`);
  } finally {
    keystone.resume();
  }
  await assertLogs(iris, /did not answer within 2000 ms/);
});

test('Keystone stopped: 503 at once for tokens not cached', STEP, async () => {
  const unseen = (await keystone.issueToken(cloud.users.rita, cloud.projects.demo)).token;
  await keystone.stop();
  const before = iris.logs().length;
  const r = await json('GET', `${base}/v2/images`, undefined, as(unseen));
  assert.equal(r.status, 503, describe(r) + serverTail());
  // Connection refused, not a timeout: that is what made it 503.
  await assertLogs(iris, /cannot reach Keystone/);
  assert.doesNotMatch(iris.logs().slice(before), /did not answer within/);
});
