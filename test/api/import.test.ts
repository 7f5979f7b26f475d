/**
 * Interoperable import over real HTTP, multi-store (local, local2) like the peer Glance's
 * configuration: staging, glance-direct, copy-image, per-store delete, web-download from a
 * local server (loopback allowed explicitly), and the failures Glance answers with 4xx or a
 * failed task. Statuses and messages are the peer's (see transcript sections 123–152).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes, type HttpAnswer } from '../helpers/http.js';

const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };
const A_ADMIN = { ...A, 'X-Roles': 'admin,member,reader' };

let iris: IrisProcess;
let base: string;
let web: Server;
let webPort: number;
const WEB_BODY = randomBytes(200_000);

before(async () => {
  web = createServer((req, res) => {
    if (req.url === '/wd.img') {
      res.writeHead(200, { 'Content-Length': String(WEB_BODY.length) });
      res.end(WEB_BODY);
    } else if (req.url === '/stall') {
      // Sends a little, then nothing: the import stays running until someone stops it.
      res.writeHead(200, { 'Content-Length': String(1 << 30) });
      res.write(Buffer.alloc(64 * 1024));
    } else if (req.url === '/redirect') {
      res.writeHead(302, { Location: '/wd.img' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webPort = (web.address() as AddressInfo).port;
  iris = await startIris({
    env: {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__LOCAL__STORE_DESCRIPTION: 'local filesystem store',
      IRIS__LOCAL2__STORE_DESCRIPTION: 'local2 filesystem store',
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: `80,443,${webPort}`,
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
  base = iris.baseUrl;
});
after(async () => {
  await iris.stop();
  web.closeAllConnections();
  web.close();
});

function expectFault(r: HttpAnswer, status: number, message: string): void {
  assert.equal(r.status, status, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
}

async function create(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare', ...extra }, A);
  assert.equal(r.status, 201, describe(r));
  assert.equal(r.headers.get('openstack-image-import-methods'), 'glance-direct,web-download,copy-image');
  assert.equal(r.headers.get('openstack-image-store-ids'), 'local,local2');
  return r.body.id as string;
}

const show = async (id: string) => (await json('GET', `${base}/v2/images/${id}`, undefined, A)).body;

/** Polls until the image's import lock is gone (the task ended), as the transcript does. */
async function settle(id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const image = await show(id);
    if (image.os_glance_import_task === undefined && image.status !== 'importing') return image;
    await sleep(50);
  }
  throw new Error(`import of ${id} did not finish:\n${iris.logs().slice(-3000)}`);
}

async function tasksOf(id: string): Promise<any[]> {
  const r = await json('GET', `${base}/v2/images/${id}/tasks`, undefined, A);
  assert.equal(r.status, 200, describe(r));
  return r.body.tasks;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

test('discovery: import methods and stores', async () => {
  const im = await json('GET', `${base}/v2/info/import`);
  assert.deepEqual(im.body, { 'import-methods': { description: 'Import methods available.', type: 'array', value: ['glance-direct', 'web-download', 'copy-image'] } });
  const st = await json('GET', `${base}/v2/info/stores`);
  assert.equal(st.text, '{"stores": [{"id": "local", "description": "local filesystem store", "default": "true"}, {"id": "local2", "description": "local2 filesystem store"}]}');
  const detail = await json('GET', `${base}/v2/info/stores/detail`, undefined, A);
  expectFault(detail, 403, 'You are not authorized to complete stores_info_detail action.');
  const adminDetail = await json('GET', `${base}/v2/info/stores/detail`, undefined, A_ADMIN);
  assert.equal(adminDetail.status, 200, describe(adminDetail));
  assert.deepEqual(adminDetail.body.stores.map((s: any) => [s.id, s.type]), [['local', 'file'], ['local2', 'file']]);
});

test('upload into a chosen store, and into an unknown one', async () => {
  const id = await create('to-local2');
  const bad = await putBytes(`${base}/v2/images/${id}/file`, Buffer.from('abc'), { ...A, 'X-Image-Meta-Store': 'nosuchstore' });
  expectFault(bad, 400, 'Store for identifier nosuchstore not found');
  const ok = await putBytes(`${base}/v2/images/${id}/file`, Buffer.from('abc'), { ...A, 'X-Image-Meta-Store': 'local2' });
  assert.equal(ok.status, 204, describe(ok));
  assert.equal((await show(id)).stores, 'local2');
});

test('glance-direct: stage, import, then copy-image and per-store delete', async () => {
  const id = await create('imported');
  expectFault(
    await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A),
    409,
    "Image needs to be staged before 'glance-direct' method can be used",
  );
  const data = randomBytes(65536);
  const staged = await putBytes(`${base}/v2/images/${id}/stage`, data, A);
  assert.equal(staged.status, 204, describe(staged));
  const uploading = await show(id);
  assert.equal(uploading.status, 'uploading');
  assert.equal(uploading.size, 65536);
  assert.equal(uploading.checksum, null);
  expectFault(await putBytes(`${base}/v2/images/${id}/stage`, Buffer.from('x'), A), 409, 'Image status transition from uploading to uploading is not allowed');
  expectFault(await putBytes(`${base}/v2/images/${id}/file`, Buffer.from('x'), A), 409, 'Image status transition from uploading to saving is not allowed');
  expectFault(await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'bogus-method' } }, A), 400, "Unknown import method name 'bogus-method'.");

  const accepted = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A);
  assert.equal(accepted.status, 202, describe(accepted));
  const active = await settle(id);
  assert.equal(active.status, 'active', JSON.stringify(active));
  assert.equal(active.checksum, md5(data));
  // The stage keeps no digests: these come from the import's copy of the staged bytes.
  assert.equal(active.os_hash_algo, 'sha512');
  assert.equal(active.os_hash_value, createHash('sha512').update(data).digest('hex'));
  assert.equal(active.virtual_size, 65536);
  assert.equal(active.stores, 'local');
  assert.equal(active.os_glance_importing_to_stores, '');
  assert.equal(active.os_glance_failed_import, '');
  assert.ok((await getBytes(`${base}/v2/images/${id}/file`, A)).bytes.equals(data));
  const [task] = await tasksOf(id);
  assert.equal(task.status, 'success');
  assert.equal(task.message, 'Copied 0 MiB');
  assert.deepEqual(task.input, { image_id: id, import_req: { method: { name: 'glance-direct' } }, backend: ['local'] });
  assert.deepEqual(task.result, { image_id: id });
  assert.equal(task.request_id, accepted.headers.get('x-openstack-request-id'));
  assert.deepEqual(readdirSync(join(iris.dataDir, 'staging')).filter((f) => !f.startsWith('.')), [], 'staging emptied');

  expectFault(await putBytes(`${base}/v2/images/${id}/file`, Buffer.from('x'), A), 409, 'Image status transition from active to saving is not allowed');
  expectFault(
    await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, A),
    403,
    'You are not authorized to complete copy_image action.',
  );
  expectFault(
    await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['nosuchstore'] }, A_ADMIN),
    409,
    'Store for identifier nosuchstore not found',
  );
  expectFault(
    await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local'] }, A_ADMIN),
    400,
    "Image is already present at store 'local'",
  );
  const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, A_ADMIN);
  assert.equal(copy.status, 202, describe(copy));
  const copied = await settle(id);
  assert.equal(copied.stores, 'local,local2');
  assert.equal(copied.status, 'active');
  assert.equal((await tasksOf(id)).length, 2);

  const del = await json('DELETE', `${base}/v2/stores/local2/${id}`, undefined, A);
  assert.equal(del.status, 204, describe(del));
  assert.equal((await show(id)).stores, 'local');
  expectFault(
    await json('DELETE', `${base}/v2/stores/local/${id}`, undefined, A_ADMIN),
    403,
    'Cannot delete image data from the only store containing it. Consider deleting the image instead.',
  );
  expectFault(await json('DELETE', `${base}/v2/stores/nosuch/${id}`, undefined, A), 409, 'The selected store nosuch is not available on this node.');
  assert.ok((await getBytes(`${base}/v2/images/${id}/file`, A)).bytes.equals(data), 'the remaining copy serves the data');
});

test('glance-direct and copy-image between filesystem stores on one filesystem link the file; each store deletes its own name', async () => {
  const id = await create('linked');
  const data = randomBytes(2 * 1024 * 1024 + 3);
  assert.equal((await putBytes(`${base}/v2/images/${id}/stage`, data, A)).status, 204);
  assert.equal((await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A)).status, 202);
  const active = await settle(id);
  assert.equal(active.status, 'active', JSON.stringify(active));
  assert.equal(active.checksum, md5(data));
  assert.equal(active.os_hash_value, createHash('sha512').update(data).digest('hex'));
  const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, A_ADMIN);
  assert.equal(copy.status, 202, describe(copy));
  assert.equal((await settle(id)).stores, 'local,local2');
  // The image's two files, one per store: one inode with two names, and no staged name left.
  const names = filesNamed(iris.dataDir, id);
  assert.equal(names.length, 2, names.join(', '));
  const [first, second] = names.map((f) => statSync(f));
  assert.equal(first!.ino, second!.ino);
  assert.equal(first!.nlink, 2);
  const del = await json('DELETE', `${base}/v2/stores/local/${id}`, undefined, A);
  assert.equal(del.status, 204, describe(del));
  assert.equal((await show(id)).stores, 'local2');
  const [left] = filesNamed(iris.dataDir, id);
  assert.equal(statSync(left!).nlink, 1);
  assert.ok((await getBytes(`${base}/v2/images/${id}/file`, A)).bytes.equals(data), 'the other store still serves the data');
});

/** Every file named `name` under `dir`. */
function filesNamed(dir: string, name: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

test('web-download: filtering answered before the task, then a download through a redirect', async () => {
  const id = await create('wd');
  for (const [uri, shown] of [
    ['http://127.0.0.1:1/x.img', 'http://127.0.0.1:1/x.img'],
    ['ftp://example.com/x.img', 'ftp://example.com/x.img'],
    [undefined, 'None'],
  ] as const) {
    expectFault(
      await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', ...(uri ? { uri } : {}) } }, A),
      400,
      `URI for web-download does not pass filtering: ${shown}`,
    );
  }
  const r = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${webPort}/redirect` } }, A);
  assert.equal(r.status, 202, describe(r));
  const image = await settle(id);
  assert.equal(image.status, 'active', JSON.stringify(image));
  assert.equal(image.size, WEB_BODY.length);
  assert.equal(image.checksum, md5(WEB_BODY));
  assert.equal(image.stores, 'local');
});

test('web-download of a missing file fails the task; the image returns to queued with the store marked failed', async () => {
  const id = await create('wd-404');
  const r = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${webPort}/missing` } }, A);
  assert.equal(r.status, 202, describe(r));
  const image = await settle(id);
  assert.equal(image.status, 'queued');
  assert.equal(image.os_glance_failed_import, 'local');
  assert.equal(image.os_glance_importing_to_stores, '');
  const [task] = await tasksOf(id);
  assert.equal(task.status, 'failure');
  assert.match(task.message, /404/);
});

test('import inspects the data: raw bytes declared qcow2 fail the task and nothing becomes active', async () => {
  const id = await create('liar', { disk_format: 'qcow2' });
  assert.equal((await putBytes(`${base}/v2/images/${id}/stage`, randomBytes(4096), A)).status, 204);
  assert.equal((await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A)).status, 202);
  const image = await settle(id);
  assert.equal(image.status, 'queued');
  assert.equal(image.stores, undefined);
  assert.equal(image.os_glance_failed_import, 'local');
  const [task] = await tasksOf(id);
  assert.equal(task.status, 'failure');
  assert.match(task.message, /qcow2/i);
  assert.equal(readdirSync(join(iris.dataDir, 'images', 'local')).filter((f) => f === id).length, 0, 'no blob left');
});

test('import request validation and state rules', async () => {
  const id = await create('rules');
  const post = (body: unknown, headers = A) => json('POST', `${base}/v2/images/${id}/import`, body, headers);
  expectFault(await post({}), 400, "Import request requires a 'method' field.");
  expectFault(await post({ method: {} }), 400, "Import request requires a 'name' field.");
  expectFault(await post({ method: { name: 'glance-direct' }, all_stores: 'yes' }), 400, "'all_stores' must be boolean value only");
  expectFault(await post({ method: { name: 'glance-direct' }, all_stores_must_succeed: 1 }), 400, "'all_stores_must_succeed' must be boolean value only");
  expectFault(await post({ method: { name: 'copy-image' } }), 409, 'Only images with status active can be targeted for copying');
  const other = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri: 'http://example.com/x' } }, { ...A, 'X-Project-Id': 'project-b' });
  assert.equal(other.status, 404, describe(other));
  const noFormat = await json('POST', `${base}/v2/images`, { name: 'no-format' }, A);
  expectFault(
    await json('POST', `${base}/v2/images/${noFormat.body.id}/import`, { method: { name: 'web-download', uri: 'http://example.com/x' } }, A),
    409,
    "'container_format' needs to be set before import",
  );
});

test('while an import runs: a second import is 409; deleting the image stops it and leaves no data', async () => {
  const id = await create('stalled');
  const r = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${webPort}/stall` } }, A);
  assert.equal(r.status, 202, describe(r));
  for (let i = 0; i < 200 && (await show(id)).status !== 'importing'; i++) await sleep(25);
  assert.equal((await show(id)).status, 'importing');
  expectFault(
    await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${webPort}/wd.img` } }, A),
    409,
    "Image needs to be in 'queued' state to use 'web-download' method",
  );
  const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, A);
  assert.equal(del.status, 204, describe(del));
  let task: any;
  for (let i = 0; i < 200; i++) {
    // The image is gone, so its task is found through the tasks API (admin only, as Glance).
    const all = (await json('GET', `${base}/v2/tasks?limit=100`, undefined, A_ADMIN)).body.tasks as any[];
    const shown = await Promise.all(all.map(async (t) => (await json('GET', `${base}/v2/tasks/${t.id}`, undefined, A_ADMIN)).body));
    task = shown.find((t) => t.image_id === id);
    if (task && task.status === 'failure') break;
    await sleep(50);
  }
  assert.equal(task?.status, 'failure', JSON.stringify(task));
  assert.match(task.message, /deleted/);
  const leftovers = ['images/local', 'images/local/.tmp', 'images/local2', 'staging', 'staging/.tmp'].flatMap((d) => {
    try {
      return readdirSync(join(iris.dataDir, d)).filter((f) => f.includes(id) || d.endsWith('.tmp'));
    } catch {
      return [];
    }
  });
  assert.deepEqual(leftovers, []);
});

test('web-download to a private or metadata address literal is refused before any task or connection', async () => {
  for (const uri of ['http://10.0.0.1/x.img', 'http://169.254.169.254/latest/meta-data', 'http://[fd00::1]/x.img']) {
    const id = await create('private');
    expectFault(await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'web-download', uri } }, A), 400, `URI for web-download does not pass filtering: ${uri}`);
    assert.equal((await show(id)).status, 'queued');
    assert.deepEqual(await tasksOf(id), []);
  }
});
