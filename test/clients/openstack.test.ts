/**
 * Debian's openstackclient 6.0.0 (/usr/bin/openstack, openstacksdk 0.101) against Iris.
 * `--os-auth-type none --os-endpoint <base>` sends no token (admin without a project);
 * `--os-auth-type admin_token --os-endpoint <base>/v2 --os-token peer:p1:member` uses the hybrid
 * token shim (a project-scoped member; the SDK does no version discovery there, hence /v2).
 * Set IRIS_TEST_TARGET=http://127.0.0.1:9293 to run the same steps against the reference Glance.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPENSTACK, requireTool } from '../helpers/tools.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { openTarget, type Target } from '../helpers/target.js';
import { json } from '../helpers/http.js';

const haveOsc = requireTool('openstack', OPENSTACK);
const skip = haveOsc ? false : 'openstack not installed';
const STEP = { skip, timeout: 120_000 };
const P1 = { 'X-Auth-Token': 'peer:p1:member' };

let target: Target;
let work: string;
let home: string;
let imageFile: string;
let data: Buffer;
let id: string | undefined;
let p1Id: string | undefined;
// Unique: the reference peer is shared with other test runs.
const name = `iris-osc-${randomBytes(4).toString('hex')}`;

before(async () => {
  if (!haveOsc) return;
  target = await openTarget();
  work = mkdtempSync(join(tmpdir(), 'iris-osc-'));
  home = makeHome();
  data = randomBytes(2 * 1024 * 1024 + 777);
  imageFile = join(work, 'disk.img');
  writeFileSync(imageFile, data);
});

after(async () => {
  if (!haveOsc) return;
  // Failed steps may leave images behind; the peer is shared, so clean up over HTTP.
  if (id !== undefined) await json('DELETE', `${target.baseUrl}/v2/images/${id}`).catch(() => {});
  if (p1Id !== undefined) await json('DELETE', `${target.baseUrl}/v2/images/${p1Id}`, undefined, P1).catch(() => {});
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  await target.close();
});

function admin(...args: string[]): Promise<CliResult> {
  return runCli(OPENSTACK, ['--os-auth-type', 'none', '--os-endpoint', target.baseUrl, ...args], { home });
}

function asP1(...args: string[]): Promise<CliResult> {
  return runCli(
    OPENSTACK,
    ['--os-auth-type', 'admin_token', '--os-endpoint', `${target.baseUrl}/v2`, '--os-token', 'peer:p1:member', ...args],
    { home },
  );
}

/** Asserts success and parses `-f json` output; the message carries stderr and the server log tail. */
async function okJson(run: Promise<CliResult>): Promise<any> {
  const r = await run;
  assert.equal(r.code, 0, r.describe() + serverTail());
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.fail(`not JSON output${r.describe()}`);
  }
}

async function ok(run: Promise<CliResult>): Promise<CliResult> {
  const r = await run;
  assert.equal(r.code, 0, r.describe() + serverTail());
  return r;
}

function serverTail(): string {
  const logs = target.logs();
  return logs ? `--- server log (tail) ---\n${logs.slice(-3000)}\n` : '';
}

function needId(): string {
  assert.ok(id, 'no image id: image create failed earlier');
  return id;
}

test('image create --file --property --tag', STEP, async () => {
  const img = await okJson(
    admin(
      'image', 'create',
      '--disk-format', 'raw',
      '--container-format', 'bare',
      '--file', imageFile,
      '--property', 'os_distro=iris',
      '--property', 'k=v',
      '--tag', 't1',
      '--tag', 't2',
      '-f', 'json',
      name,
    ),
  );
  id = img.id;
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, JSON.stringify(img));
  assert.equal(img.name, name);
  // The SDK prints the image it created before uploading, so its status here is queued.
  assert.deepEqual([...img.tags].sort(), ['t1', 't2']);
  assert.equal(img.properties?.k, 'v', JSON.stringify(img));
});

test('image list -f json has the image', STEP, async () => {
  const list = await okJson(admin('image', 'list', '-f', 'json'));
  assert.ok(Array.isArray(list), JSON.stringify(list));
  const row = list.find((x: any) => x.ID === needId());
  assert.ok(row, `image ${id} not listed: ${JSON.stringify(list).slice(0, 2000)}`);
  assert.equal(row.Name, name);
  assert.equal(row.Status, 'active');
});

test('image show -f json: active, size, checksums, properties, tags', STEP, async () => {
  const img = await okJson(admin('image', 'show', '-f', 'json', needId()));
  assert.equal(img.id, id);
  assert.equal(img.status, 'active');
  assert.equal(img.size, data.length);
  assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
  // The SDK folds os_hash_* into "properties" (it does not know them as attributes).
  const props = img.properties ?? {};
  assert.equal(props.os_hash_algo ?? img.os_hash_algo, 'sha512');
  assert.equal(props.os_hash_value ?? img.os_hash_value, createHash('sha512').update(data).digest('hex'));
  assert.equal(props.os_distro, 'iris');
  assert.equal(props.k, 'v');
  assert.deepEqual([...img.tags].sort(), ['t1', 't2']);
  assert.equal(img.disk_format, 'raw');
  assert.equal(img.container_format, 'bare');
});

test('image set --name --property', STEP, async () => {
  await ok(admin('image', 'set', '--name', `${name}-2`, '--property', 'a=b', needId()));
  const img = await okJson(admin('image', 'show', '-f', 'json', needId()));
  assert.equal(img.name, `${name}-2`);
  assert.equal(img.properties?.a, 'b');
  assert.equal(img.properties?.k, 'v');
  assert.equal(img.status, 'active');
});

test('image save --file gives back the same bytes', STEP, async () => {
  const out = join(work, 'out.img');
  await ok(admin('image', 'save', '--file', out, needId()));
  const got = readFileSync(out);
  assert.equal(got.length, data.length);
  assert.ok(got.equals(data), 'saved bytes differ from the uploaded file');
});

test('image delete, then image show fails', STEP, async () => {
  await ok(admin('image', 'delete', needId()));
  const gone = id!;
  id = undefined;
  const r = await admin('image', 'show', '-f', 'json', gone);
  assert.notEqual(r.code, 0, r.describe() + serverTail());
  assert.match(r.stderr, /no image found|not found|404/i, r.describe() + serverTail());
});

test('as project p1 (token shim): create, then list shows owner p1', STEP, async () => {
  const img = await okJson(
    asP1(
      'image', 'create',
      '--disk-format', 'raw',
      '--container-format', 'bare',
      '--file', imageFile,
      '-f', 'json',
      `${name}-p1`,
    ),
  );
  p1Id = img.id;
  assert.match(p1Id ?? '', /^[0-9a-f-]{36}$/, JSON.stringify(img));
  assert.equal(img.owner, 'p1', JSON.stringify(img));
  const list = await okJson(asP1('image', 'list', '--long', '-f', 'json'));
  const row = list.find((x: any) => x.ID === p1Id);
  assert.ok(row, `p1's image ${p1Id} not in p1's list: ${JSON.stringify(list).slice(0, 2000)}`);
  assert.equal(row.Project, 'p1');
  assert.equal(row.Status, 'active');
  assert.equal(row.Size, data.length);
  await ok(asP1('image', 'delete', p1Id!));
  p1Id = undefined;
});
