/**
 * The scenario both migration proofs play on the real Glance (the peer rig,
 * ../shared/peer-glance): start it, make images through its API, record what it answers, stop
 * it; then record the same from Iris and compare.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../helpers/iris-server.js';

export const PEER_RIG = resolve(REPO_ROOT, '..', 'shared', 'peer-glance');

/** Where Iris and Glance legitimately differ in a show answer; empty so far (see the doc). */
export const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {};

export function peerMissing(): string | false {
  if (existsSync(join(PEER_RIG, 'start.sh'))) return false;
  // Not a package CI could install: the workspace's own rig. Its absence is a skip, even in CI.
  const why = `the peer rig ${PEER_RIG} is missing (a clone of Iris outside the workspace has no ../shared)`;
  console.error(`\n*** SKIP import-glance-db peer proof: ${why} ***\n`);
  return why;
}


export type Json = Record<string, unknown>;

export interface Peer {
  readonly base: string;
  readonly dir: string;
  stop(): void;
}

export function startPeer(dir: string, port: number, extraEnv: Record<string, string> = {}): Peer {
  const env = { ...process.env, PEER_GLANCE_DIR: dir, PEER_GLANCE_PORT: String(port), PEER_GLANCE_FRESH: '1', ...extraEnv };
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

export async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
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
export interface Made {
  readonly ids: Record<string, string>;
  readonly deletedId: string;
  readonly taskImage: string;
}

export async function makeImages(base: string): Promise<Made> {
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
    // The task ends a moment after the image turns active; the import lock goes after both.
    if (image.status === 'active' && image.os_glance_import_task === undefined) break;
    assert.ok(i < 120, `import still ${String(image.status)}`);
    await sleep(500);
  }
  return { ids, deletedId, taskImage };
}

export interface Recorded {
  readonly show: Json;
  readonly members: Json;
  readonly md5?: string;
  readonly sha512?: string;
}

/** What the peer (or Iris) answers about every image, as the admin without a project sees it. */
export async function record(base: string, made: Made): Promise<{ images: Record<string, Recorded>; listIds: string[]; tasks: Json }> {
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
export function millisecondTimes(value: Json): Json {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) =>
    key.endsWith('_at') && typeof v === 'string' ? v.replace(/(\.\d{3})\d{3}$/, '$1000') : v,
  )) as Json;
}

export function normalise(show: Json): Json {
  // Glance returns tags in Python set order, which is not part of the API.
  return { ...show, tags: [...(show.tags as string[])].sort() };
}

export type Answers = Awaited<ReturnType<typeof record>>;

/**
 * Iris's answers equal the peer's: every show field (but KNOWN_DIFFERENCES; tags as a set),
 * members, the bytes (md5, sha512, which also equal checksum and os_hash_value), the list,
 * and the image's tasks (times to the millisecond).
 */
export function assertSameAnswers(before: Answers, after: Answers, made: Made): void {
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
}
