/**
 * Flavor apikey and `iris-manage key …`: keys stored as SHA-256 digests, created, listed
 * (never printed again) and revoked with the CLI, honoured by a running server within a
 * second, identity headers ignored; glanceclient and openstackclient work with a key as
 * their token, unchanged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runManage } from '../../src/cli/iris-manage.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { describe, json, patch } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { GLANCE, OPENSTACK, requireTool } from '../helpers/tools.js';

const haveGlance = requireTool('glance', GLANCE);
const haveOsc = requireTool('openstack', OPENSTACK);

let iris: IrisProcess;
let base: string;
let work: string;

before(async () => {
  iris = await startIris({ env: { IRIS__PASTE_DEPLOY__FLAVOR: 'apikey' } });
  base = iris.baseUrl;
  work = mkdtempSync(join(tmpdir(), 'iris-apikey-test-'));
});

after(async () => {
  await iris?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** iris-manage against the running server's data dir (so its default key file). */
async function manage(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runManage(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: { IRIS_DATA_DIR: iris.dataDir },
    cwd: work,
  });
  return { code, out, err };
}

/** `key create`, returning the printed id and secret. */
async function createKey(project: string, user: string, roles?: string): Promise<{ id: string; secret: string }> {
  const r = await manage('key', 'create', '--project', project, '--user', user, ...(roles ? ['--roles', roles] : []));
  assert.equal(r.code, 0, r.err);
  const fields = Object.fromEntries(r.out.trim().split('\n').map((line) => line.split(/\s+/, 2) as [string, string]));
  assert.match(fields.secret ?? '', /^iris_[0-9a-f]{16}_/, r.out);
  return { id: fields.id!, secret: fields.secret! };
}

/**
 * Polls GET /v2/images with `token` until it answers `status`: the server re-reads the key
 * file at most once per second (how soon is proven with a fake clock in
 * src/auth/api-key-authenticator.test.ts); the 20 s limit only stops a hung test.
 */
async function eventually(token: string, status: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await json('GET', `${base}/v2/images`, undefined, { 'X-Auth-Token': token });
    if (r.status === status) return;
    if (Date.now() > deadline) assert.fail(`still ${r.status} after 20 s, expected ${status}: ${describe(r)}`);
    await sleep(100);
  }
}

test('iris-manage key: create prints the secret once, the file keeps only its SHA-256, list never shows it', async () => {
  const { id, secret } = await createKey('proj-a', 'user-a', 'Member,reader');
  const file = join(iris.dataDir, 'api-keys.json');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(secret), 'the secret is in the key file');
  assert.ok(text.includes(createHash('sha256').update(secret).digest('hex')), 'no SHA-256 of the secret in the file');
  assert.equal(statSync(file).mode & 0o077, 0, 'the key file is readable by others');

  const list = await manage('key', 'list');
  assert.equal(list.code, 0, list.err);
  assert.ok(!list.out.includes(secret) && !list.out.includes(secret.slice(-20)), 'key list shows the secret');
  const row = list.out.split('\n').find((line) => line.startsWith(id));
  assert.ok(row, list.out);
  assert.match(row, /proj-a\s+user-a\s+member,reader/);

  const revoked = await manage('key', 'revoke', id);
  assert.equal(revoked.code, 0, revoked.err);
  assert.ok(!(await manage('key', 'list')).out.includes(id));
  const again = await manage('key', 'revoke', id);
  assert.equal(again.code, 1);
  assert.match(again.err, /no API key with id/);
  assert.notEqual((await manage('key', 'create', '--user', 'u')).code, 0, '--project is required');
});

test('no, unknown, malformed or revoked key: 401; /, /versions, /healthcheck stay anonymous', async () => {
  assert.equal((await json('GET', `${base}/`)).status, 300);
  assert.equal((await json('GET', `${base}/versions`)).status, 200);
  assert.equal((await fetch(`${base}/healthcheck`)).status, 200);
  assert.equal((await json('GET', `${base}/v2/images`)).status, 401);
  // The router decodes the path: an encoded /v2 is still behind authentication.
  assert.equal((await json('GET', `${base}/%762/images`)).status, 401);
  const { id, secret } = await createKey('proj-b', 'user-b');
  await eventually(secret, 200);
  // Right id, wrong secret; right shape, unknown id; not a key at all; the hybrid shim.
  const wrong = `${secret.slice(0, -4)}${secret.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const unknown = `iris_0000000000000000_${secret.slice(-43)}`;
  for (const token of [wrong, unknown, 'garbage', 'peer:proj-b:admin']) {
    const r = await json('GET', `${base}/v2/images`, undefined, { 'X-Auth-Token': token });
    assert.equal(r.status, 401, `${token}: ${describe(r)}`);
  }
  assert.equal((await manage('key', 'revoke', id)).code, 0);
  await eventually(secret, 401);
});

test('identity comes from the key: forged headers ignored, owner is the key project, admin by role', async () => {
  const member = await createKey('proj-c', 'user-c', 'member,reader');
  const admin = await createKey('proj-admin', 'root', 'admin');
  await eventually(admin.secret, 200);
  const forged = { 'X-Project-Id': 'proj-evil', 'X-Tenant-Id': 'proj-evil', 'X-Roles': 'admin', 'X-Identity-Status': 'Confirmed' };
  assert.equal((await json('GET', `${base}/v2/images`, undefined, forged)).status, 401, 'headers alone');
  const created = await json('POST', `${base}/v2/images`, { name: 'keyed', disk_format: 'raw', container_format: 'bare' }, {
    'X-Auth-Token': member.secret,
    ...forged,
  });
  assert.equal(created.status, 201, describe(created));
  assert.equal(created.body.owner, 'proj-c');
  const publicize = await patch(`${base}/v2/images/${created.body.id}`, [{ op: 'replace', path: '/visibility', value: 'public' }], {
    'X-Auth-Token': member.secret,
    ...forged,
  });
  assert.equal(publicize.status, 403, describe(publicize));
  const byAdmin = await patch(`${base}/v2/images/${created.body.id}`, [{ op: 'replace', path: '/visibility', value: 'public' }], {
    'X-Auth-Token': admin.secret,
  });
  assert.equal(byAdmin.status, 200, describe(byAdmin));
  const other = await createKey('proj-d', 'user-d');
  await eventually(other.secret, 200);
  const mine = await json('POST', `${base}/v2/images`, { name: 'private-c', visibility: 'private' }, { 'X-Auth-Token': member.secret });
  assert.equal(mine.status, 201, describe(mine));
  const seen = await json('GET', `${base}/v2/images/${mine.body.id}`, undefined, { 'X-Auth-Token': other.secret });
  assert.equal(seen.status, 404, "another project's key does not see a private image");
});

async function ok(run: Promise<CliResult>): Promise<CliResult> {
  const r = await run;
  assert.equal(r.code, 0, r.describe() + `\n--- Iris log (tail) ---\n${iris.logs().slice(-3000)}`);
  return r;
}

test('glance --os-auth-token KEY --os-image-url URL: create with data, list, show, download, delete', { skip: !haveGlance && 'glance not installed', timeout: 120_000 }, async () => {
  const key = await createKey('proj-glance', 'glance-user');
  await eventually(key.secret, 200);
  const home = makeHome();
  try {
    // A dummy --os-auth-url keeps glanceclient from reading back a cached schema (as in test/clients).
    const glance = (...args: string[]) =>
      runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', key.secret, '--os-auth-url', `${base}/no-keystone`, ...args], { home });
    const data = randomBytes(1024 * 1024 + 123);
    const file = join(work, 'glance.img');
    writeFileSync(file, data);
    const created = parsePropertyTable(
      (await ok(glance('image-create', '--name', 'glance-key', '--disk-format', 'raw', '--container-format', 'bare', '--file', file))).stdout,
    );
    const id = created.id!;
    assert.equal(created.owner, 'proj-glance');
    assert.equal(created.status, 'active');
    assert.ok(parseTable((await ok(glance('image-list'))).stdout).some((row) => row.ID === id));
    assert.equal(parsePropertyTable((await ok(glance('image-show', id))).stdout).size, String(data.length));
    const out = join(work, 'glance-out.img');
    await ok(glance('image-download', '--file', out, id));
    assert.ok(readFileSync(out).equals(data), 'downloaded bytes differ');
    await ok(glance('image-delete', id));
    assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, { 'X-Auth-Token': key.secret })).status, 404);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('openstack --os-auth-type admin_token --os-token KEY: create with data, show, delete', { skip: !haveOsc && 'openstack not installed', timeout: 120_000 }, async () => {
  const key = await createKey('proj-osc', 'osc-user');
  await eventually(key.secret, 200);
  const home = makeHome();
  try {
    const osc = (...args: string[]) =>
      runCli(OPENSTACK, ['--os-auth-type', 'admin_token', '--os-endpoint', `${base}/v2`, '--os-token', key.secret, ...args], { home });
    const file = join(work, 'osc.img');
    writeFileSync(file, randomBytes(4096));
    const created = JSON.parse(
      (await ok(osc('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '-f', 'json', 'osc-key'))).stdout,
    );
    const shown = JSON.parse((await ok(osc('image', 'show', '-f', 'json', created.id))).stdout);
    assert.equal(shown.owner, 'proj-osc');
    assert.equal(shown.size, 4096);
    await ok(osc('image', 'delete', created.id));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
