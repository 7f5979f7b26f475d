/**
 * The migration proof: the real Glance 25.1.0 (the peer rig, ../shared/peer-glance) makes a
 * database through its API — uploaded images in two filesystem stores, shared with accepted
 * and pending members, tagged, with properties, deactivated, deleted, queued, community and
 * hidden, one imported with glance-direct (a task) — and is stopped; `iris-manage
 * import-glance-db` carries its database into Iris, and Iris, started on the peer's image
 * directories, answers every image's show, members and tasks like the peer did, lists them all
 * and serves the same bytes (md5 and sha512), which were never copied.
 *
 * Field differences between the two answers are listed in KNOWN_DIFFERENCES with the reason;
 * anything else differing fails the test.
 *
 * The peer runs on SQLite here. Without ../shared/peer-glance (a clone of Iris outside the
 * workspace) the test skips loudly; in CI (CI=true) that is a failure.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runManage } from '../../src/cli/iris-manage.js';
import { freePort, REPO_ROOT, startIris, type IrisProcess } from '../helpers/iris-server.js';

const PEER_RIG = resolve(REPO_ROOT, '..', 'shared', 'peer-glance');

/** Where Iris and Glance legitimately differ in a show answer; empty so far (see the doc). */
const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {};

function peerMissing(): string | false {
  if (existsSync(join(PEER_RIG, 'start.sh'))) return false;
  const why = `the peer rig ${PEER_RIG} is missing (a clone of Iris outside the workspace has no ../shared)`;
  if (process.env.CI === 'true') throw new Error(`${why} — CI=true, so this is a failure`);
  console.error(`\n*** SKIP import-glance-db peer proof: ${why} ***\n`);
  return why;
}

const skip = peerMissing();

type Json = Record<string, unknown>;

interface Peer {
  readonly base: string;
  readonly dir: string;
  stop(): void;
}

function startPeer(dir: string, port: number): Peer {
  const env = { ...process.env, PEER_GLANCE_DIR: dir, PEER_GLANCE_PORT: String(port), PEER_GLANCE_FRESH: '1' };
  const r = spawnSync('bash', [join(PEER_RIG, 'start.sh')], { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`peer start.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  let stopped = false;
  return {
    base: `http://127.0.0.1:${port}`,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      const s = spawnSync('bash', [join(PEER_RIG, 'stop.sh')], { env, encoding: 'utf8', timeout: 60_000 });
      if (s.status !== 0) throw new Error(`peer stop.sh failed (${s.status}): ${s.stderr}`);
    },
  };
}

const AS_P1 = { 'X-Project-Id': 'p1', 'X-Roles': 'member,reader', 'X-User-Id': 'u1' };
const AS_P1_ADMIN = { 'X-Project-Id': 'p1', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'u1' };
const AS_P2 = { 'X-Project-Id': 'p2', 'X-Roles': 'member,reader' };

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body instanceof Uint8Array) {
    init.body = body as unknown as BodyInit;
    (init.headers as Record<string, string>)['Content-Type'] = 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = path.includes('/images/') && method === 'PATCH' ? 'application/openstack-images-v2.1-json-patch' : 'application/json';
  }
  return fetch(base + path, init);
}

async function ok(res: Promise<Response>, what: string): Promise<Json> {
  const r = await res;
  const text = await r.text();
  assert.ok(r.ok, `${what}: ${r.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Json);
}

function digests(data: Uint8Array): { md5: string; sha512: string } {
  return { md5: createHash('md5').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') };
}

/** The images the peer makes, by role. */
interface Made {
  readonly ids: Record<string, string>;
  readonly deletedId: string;
  readonly taskImage: string;
}

async function makeImages(base: string): Promise<Made> {
  const ids: Record<string, string> = {};
  const create = async (key: string, body: Json, headers = AS_P1) => {
    const image = await ok(call(base, 'POST', '/v2/images', headers, body), `create ${key}`);
    ids[key] = image.id as string;
    return image.id as string;
  };
  const upload = async (id: string, bytes: number, store?: string) => {
    const data = randomBytes(bytes);
    await ok(call(base, 'PUT', `/v2/images/${id}/file`, { ...AS_P1, ...(store ? { 'X-Image-Meta-Store': store } : {}) }, data), `upload ${id}`);
  };

  const shared = await create('shared', {
    name: 'shared-tagged',
    disk_format: 'qcow2',
    container_format: 'bare',
    visibility: 'shared',
    tags: ['alpha', 'beta', 'gamma'],
    os_distro: 'cirros',
    hw_disk_bus: 'virtio',
    min_disk: 2,
    min_ram: 128,
  });
  await upload(shared, 300_000);
  await ok(call(base, 'POST', `/v2/images/${shared}/members`, AS_P1, { member: 'p2' }), 'add p2');
  await ok(call(base, 'POST', `/v2/images/${shared}/members`, AS_P1, { member: 'p3' }), 'add p3');
  await ok(call(base, 'PUT', `/v2/images/${shared}/members/p2`, AS_P2, { status: 'accepted' }), 'p2 accepts');

  const second = await create('second-store', { name: 'in-local2', disk_format: 'raw', container_format: 'bare', visibility: 'public', protected: true }, AS_P1_ADMIN);
  await upload(second, 70_001, 'local2');

  const off = await create('deactivated', { name: 'deactivated', disk_format: 'raw', container_format: 'bare' });
  await upload(off, 4096);
  await ok(call(base, 'POST', `/v2/images/${off}/actions/deactivate`, AS_P1_ADMIN), 'deactivate');

  const hidden = await create('community-hidden', { name: 'community', disk_format: 'iso', container_format: 'bare', visibility: 'community', os_hidden: true });
  await upload(hidden, 1);

  await create('queued', { name: 'queued-only', disk_format: 'raw', container_format: 'bare', visibility: 'private' });
  await create('no-formats', {});

  const deletedId = (await ok(call(base, 'POST', '/v2/images', AS_P1, { name: 'to-delete', disk_format: 'raw', container_format: 'bare' }), 'create deleted')).id as string;
  await upload(deletedId, 10);
  const del = await call(base, 'DELETE', `/v2/images/${deletedId}`, AS_P1);
  assert.equal(del.status, 204);

  // An interoperable import: leaves a task (api_image_import) and its task_info.
  const taskImage = await create('imported', { name: 'imported', disk_format: 'raw', container_format: 'bare' });
  await ok(call(base, 'PUT', `/v2/images/${taskImage}/stage`, AS_P1, randomBytes(5000)), 'stage');
  await ok(call(base, 'POST', `/v2/images/${taskImage}/import`, AS_P1, { method: { name: 'glance-direct' } }), 'import');
  for (let i = 0; ; i++) {
    const image = await ok(call(base, 'GET', `/v2/images/${taskImage}`, AS_P1), 'poll import');
    if (image.status === 'active') break;
    assert.ok(i < 120, `import still ${String(image.status)}`);
    await sleep(500);
  }
  return { ids, deletedId, taskImage };
}

interface Recorded {
  readonly show: Json;
  readonly members: Json;
  readonly md5?: string;
  readonly sha512?: string;
}

/** What the peer (or Iris) answers about every image, as the admin without a project sees it. */
async function record(base: string, made: Made): Promise<{ images: Record<string, Recorded>; listIds: string[]; tasks: Json }> {
  const images: Record<string, Recorded> = {};
  for (const [key, id] of Object.entries(made.ids)) {
    const show = await ok(call(base, 'GET', `/v2/images/${id}`), `show ${key}`);
    // Only shared images have members; the others answer 403, which is compared too.
    const membersRes = await call(base, 'GET', `/v2/images/${id}/members`, AS_P1);
    const membersText = await membersRes.text();
    const members: Json = membersRes.ok ? (JSON.parse(membersText) as Json) : { status: membersRes.status };
    const file = await call(base, 'GET', `/v2/images/${id}/file`);
    let sums = {};
    if (file.status === 200) sums = digests(new Uint8Array(await file.arrayBuffer()));
    else {
      assert.equal(file.status, 204, `download ${key}`);
      await file.arrayBuffer();
    }
    images[key] = { show, members, ...sums };
  }
  const list = await ok(call(base, 'GET', '/v2/images?limit=1000'), 'list');
  const hiddenList = await ok(call(base, 'GET', '/v2/images?limit=1000&os_hidden=true'), 'list hidden');
  const community = await ok(call(base, 'GET', '/v2/images?limit=1000&visibility=community&os_hidden=true'), 'list community');
  const listIds = [...new Set([list, hiddenList, community].flatMap((l) => (l.images as Json[]).map((i) => i.id as string)))].sort();
  const tasks = await ok(call(base, 'GET', `/v2/images/${made.taskImage}/tasks`, AS_P1_ADMIN), 'image tasks');
  return { images, listIds, tasks };
}

/**
 * The one documented difference: task times. Glance shows them with microseconds
 * (2026-12-06T09:59:05.577517); Iris stores times as integer milliseconds (persistence/schema.ts),
 * so an imported task shows .577000. Image times are shown to the second by both.
 */
function millisecondTimes(value: Json): Json {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) =>
    key.endsWith('_at') && typeof v === 'string' ? v.replace(/(\.\d{3})\d{3}$/, '$1000') : v,
  )) as Json;
}

function normalise(show: Json): Json {
  // Glance returns tags in Python set order, which is not part of the API.
  return { ...show, tags: [...(show.tags as string[])].sort() };
}

test('a database made by the real Glance is imported and served by Iris: show, list, members, tasks, same bytes', { skip, timeout: 600_000 }, async (t: TestContext) => {
  const work = await mkdtemp(join(tmpdir(), 'import-glance-peer-'));
  const peerDir = join(work, 'peer');
  let peer: Peer | undefined;
  let iris: IrisProcess | undefined;
  try {
    peer = startPeer(peerDir, await freePort());
    const made = await makeImages(peer.base);
    const before = await record(peer.base, made);
    peer.stop();

    const storeLocal = join(peerDir, 'images', 'local');
    const storeLocal2 = join(peerDir, 'images', 'local2');
    const filesBefore = [...readdirSync(storeLocal), ...readdirSync(storeLocal2)].sort();
    const conf = join(work, 'iris.conf');
    await writeFile(
      conf,
      '[DEFAULT]\nenabled_backends = local:file,local2:file\n' +
        '[glance_store]\ndefault_backend = local\n' +
        `[local]\nfilesystem_store_datadir = ${storeLocal}\n[local2]\nfilesystem_store_datadir = ${storeLocal2}\n` +
        `[database]\nconnection = sqlite:///${join(work, 'iris.sqlite')}\n`,
    );
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), env: {}, cwd: work };
    const from = `sqlite:///${join(peerDir, 'glance.sqlite')}`;
    const code = await runManage(['--config-file', conf, 'import-glance-db', '--from', from], io);
    assert.equal(code, 0, err);
    t.diagnostic(out);
    const n = Object.keys(made.ids).length;
    assert.match(out, new RegExp(`^images: ${n + 1} in Glance, ${n} carried \\(added ${n}, updated 0, unchanged 0\\); 1 skipped: 1 deleted in Glance$`, 'm'));
    assert.match(out, /^members: 2 carried \(1 accepted, 1 pending\)$/m);
    assert.match(out, /^locations: 5 carried \(5 served from Iris's filesystem stores in place\)$/m);
    assert.match(out, /^tasks: 1 in Glance, 1 carried \(added 1, updated 0, unchanged 0\)$/m);

    const rerun = await runManage(['--config-file', conf, 'import-glance-db', '--from', from], { ...io, stdout: (s: string) => (out = s) });
    assert.equal(rerun, 0);
    assert.match(out, new RegExp(`^images: ${n + 1} in Glance, ${n} carried \\(added 0, updated 0, unchanged ${n}\\)`, 'm'));

    iris = await startIris({ args: ['--config-file', conf] });
    const after = await record(iris.baseUrl, made);

    for (const key of Object.keys(made.ids)) {
      const peerShow = normalise(before.images[key]!.show);
      const irisShow = normalise(after.images[key]!.show);
      for (const field of new Set([...Object.keys(peerShow), ...Object.keys(irisShow)])) {
        if (field in KNOWN_DIFFERENCES) continue;
        assert.deepEqual(irisShow[field], peerShow[field], `image ${key} field ${field}`);
      }
      assert.deepEqual(after.images[key]!.members, before.images[key]!.members, `members of ${key}`);
      assert.equal(after.images[key]!.md5, before.images[key]!.md5, `md5 of ${key}`);
      assert.equal(after.images[key]!.sha512, before.images[key]!.sha512, `sha512 of ${key}`);
      if (before.images[key]!.md5 !== undefined) {
        assert.equal(after.images[key]!.md5, peerShow.checksum);
        assert.equal(after.images[key]!.sha512, peerShow.os_hash_value);
      }
    }
    assert.ok(before.images.shared!.md5 !== undefined && before.images.deactivated!.md5 !== undefined, 'the data images downloaded');
    assert.deepEqual(after.listIds, before.listIds);
    assert.deepEqual(after.listIds, Object.values(made.ids).sort(), 'every live image lists, the deleted one does not');
    assert.deepEqual(after.tasks, millisecondTimes(before.tasks), 'the import task');
    const deleted = await call(iris.baseUrl, 'GET', `/v2/images/${made.deletedId}`);
    assert.equal(deleted.status, 404);
    await deleted.arrayBuffer();
    // The bytes were served in place: the stores hold exactly the files Glance wrote.
    assert.deepEqual([...readdirSync(storeLocal), ...readdirSync(storeLocal2)].sort(), filesBefore);
  } finally {
    await iris?.stop();
    peer?.stop();
    await rm(work, { recursive: true, force: true });
  }
});
