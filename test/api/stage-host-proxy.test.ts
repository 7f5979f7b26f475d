/**
 * Node-local staging across two Iris nodes (one database file, one image store, a staging
 * directory each), both with worker_self_reference_url set:
 * - an image staged on A and imported through B: B proxies the import to A (which holds the
 *   bytes), A runs it, the image becomes active; the stage host never shows in the image;
 * - a stage host that answers an error: B relays its status, having sent the same path and
 *   body with the caller's credentials;
 * - a stage host that cannot be reached: 504 "Stage host is unavailable", as Glance 25.1.0;
 * - a DELETE through B of an image staged on A is replayed on A, which removes the image and its
 *   staged bytes; an error answer of the stage host is relayed; an unreachable stage host makes B
 *   delete the image itself (Glance's _delete_image_on_remote);
 * - a node starting leaves alone an image staged on another node (its start-up stage recovery
 *   finds no staged data of its own for it, and must not take it back to queued).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { freePort, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { until } from '../helpers/store-files.js';

const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const STAGE_HOST = 'os_glance_stage_host';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let shared: string;
let a: IrisProcess;
let b: IrisProcess;
let aUrl: string;

/** A node on its own data dir (so its own staging), sharing the database and the image store. */
async function node(name: string): Promise<{ iris: IrisProcess; url: string }> {
  // The node must know its own URL before it starts: a port free a moment ago.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(shared, name);
  mkdirSync(dataDir);
  const iris = await startIris({
    dataDir,
    env: {
      IRIS_PORT: String(port),
      IRIS__DATABASE__CONNECTION: `sqlite:///${join(shared, 'iris.sqlite')}`,
      IRIS__GLANCE_STORE__FILESYSTEM_STORE_DATADIR: join(shared, 'images'),
      IRIS__DEFAULT__WORKER_SELF_REFERENCE_URL: url,
    },
  });
  cleanups.push(() => iris.stop());
  return { iris, url };
}

before(async () => {
  shared = mkdtempSync(join(tmpdir(), 'iris-stage-host-'));
  cleanups.push(() => rmSync(shared, { recursive: true, force: true }));
  ({ iris: a, url: aUrl } = await node('a'));
  ({ iris: b } = await node('b'));
});

/** An image staged on node A (status uploading, its bytes in A's staging directory). */
async function stagedOnA(data: Buffer): Promise<string> {
  const created = await json('POST', `${a.baseUrl}/v2/images`, { name: 'staged', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  const id: string = created.body.id;
  const staged = await putBytes(`${a.baseUrl}/v2/images/${id}/stage`, data, ADMIN);
  assert.equal(staged.status, 204, describe(staged));
  return id;
}

/** Points the image's stage host elsewhere, as another node staging it would have. */
async function setStageHost(id: string, from: string, to: string): Promise<void> {
  const database = openDatabase({ url: `sqlite:///${join(shared, 'iris.sqlite')}` });
  try {
    const images = createImageRepository(database.db, { engine: database.engine });
    assert.equal(await images.deletePropertyAtomic(id, STAGE_HOST, from), true, 'the image records its stage host');
    await images.setPropertyAtomic(id, STAGE_HOST, to);
  } finally {
    await database.close();
  }
}

test('staged on A, imported through B: B proxies the import to A, which makes the image active', { timeout: 120_000 }, async () => {
  const data = randomBytes(300 * 1024);
  const id = await stagedOnA(data);
  const shown = (await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(shown.status, 'uploading');
  assert.equal(shown[STAGE_HOST], undefined, 'the stage host is never shown');

  const accepted = await json('POST', `${b.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  const image = await until(
    'the import to finish',
    async () => {
      const r = (await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
      // The import lock goes once the task has ended (the image turns active a moment before).
      return (r.status === 'active' && r.os_glance_import_task === undefined) || r.status === 'queued' ? r : undefined;
    },
    60_000,
  );
  assert.equal(image.status, 'active', JSON.stringify(image));
  assert.equal(image.size, data.length);
  assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
  // The task ran on A (B has no staged data and would have failed it).
  const tasks = (await json('GET', `${b.baseUrl}/v2/images/${id}/tasks`, undefined, ADMIN)).body.tasks;
  assert.equal(tasks.length, 1);
  assert.equal(tasks[0].status, 'success', JSON.stringify(tasks[0]));
  assert.equal(accepted.headers.get('x-openstack-request-id'), tasks[0].request_id, 'B answered with the id of the request A ran the import for');
});

test('a stage host answering an error: B relays its status; it got the same path, body and credentials', { timeout: 60_000 }, async () => {
  const seen: { url?: string; body?: string; headers?: IncomingMessage['headers'] } = {};
  const fake = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      Object.assign(seen, { url: req.url, body, headers: req.headers });
      res.writeHead(409, { 'Content-Type': 'application/json', 'x-openstack-request-id': 'req-remote-409' });
      res.end('{"message": "busy"}');
    });
  });
  fake.listen(0, '127.0.0.1');
  await new Promise((resolve) => fake.once('listening', resolve));
  cleanups.push(() => void fake.close());
  const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;

  const id = await stagedOnA(randomBytes(1024));
  await setStageHost(id, aUrl, fakeUrl);
  const body = { method: { name: 'glance-direct' }, all_stores_must_succeed: true };
  const answer = await json('POST', `${b.baseUrl}/v2/images/${id}/import`, body, { ...ADMIN, 'X-Auth-Token': 'token-of-the-caller' });
  assert.equal(answer.status, 409, describe(answer));
  assert.equal(answer.headers.get('x-openstack-request-id'), 'req-remote-409');
  assert.equal(seen.url, `/v2/images/${id}/import`);
  assert.deepEqual(JSON.parse(seen.body ?? ''), body);
  assert.equal(seen.headers?.['x-auth-token'], 'token-of-the-caller');
  assert.equal(seen.headers?.['x-project-id'], 'project-a');
  // Nothing was started on B: the image is still staged, without a lock.
  const image = (await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'uploading');
  assert.equal(image.os_glance_import_task, undefined);
  // A DELETE is relayed the same way, and the stage host's refusal leaves the image.
  const refused = await json('DELETE', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(refused.status, 409, describe(refused));
  assert.equal(seen.url, `/v2/images/${id}`);
  assert.equal((await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).status, 200);
});

test('staged on A, deleted through B: A deletes it and its staged bytes', { timeout: 60_000 }, async () => {
  const id = await stagedOnA(randomBytes(2048));
  const stagedFile = join(shared, 'a', 'staging', id);
  assert.ok(existsSync(stagedFile), `staged on A at ${stagedFile}`);
  const deleted = await json('DELETE', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(deleted.status, 204, describe(deleted));
  assert.equal((await json('GET', `${a.baseUrl}/v2/images/${id}`, undefined, ADMIN)).status, 404);
  assert.equal(existsSync(stagedFile), false, "A removed its staged file");
});

test('a stage host that cannot be reached: B deletes the image itself', { timeout: 60_000 }, async () => {
  const id = await stagedOnA(randomBytes(1024));
  await setStageHost(id, aUrl, `http://127.0.0.1:${await freePort()}`);
  const deleted = await json('DELETE', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(deleted.status, 204, describe(deleted));
  assert.equal((await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).status, 404);
});

test('a stage host that cannot be reached: 504 Stage host is unavailable', { timeout: 60_000 }, async () => {
  const id = await stagedOnA(randomBytes(1024));
  const gone = `http://127.0.0.1:${await freePort()}`;
  await setStageHost(id, aUrl, gone);
  const answer = await json('POST', `${b.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, ADMIN);
  assert.equal(answer.status, 504, describe(answer));
  assert.equal(answer.body.title, 'Gateway Timeout');
  assert.match(answer.body.message, /Stage host is unavailable/);
  const image = (await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'uploading');
});

test('a node starting leaves an image staged on another node as it is', { timeout: 120_000 }, async () => {
  const data = randomBytes(4096);
  const id = await stagedOnA(data);
  const { iris: c } = await node('c');
  const image = (await json('GET', `${c.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'uploading', JSON.stringify(image));
  assert.equal(image.size, data.length);
  // And it can still be imported, through the new node.
  const accepted = await json('POST', `${c.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  const done = await until(
    'the import to finish',
    async () => {
      const r = (await json('GET', `${c.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
      // The import lock goes once the task has ended (the image turns active a moment before).
      return (r.status === 'active' && r.os_glance_import_task === undefined) || r.status === 'queued' ? r : undefined;
    },
    60_000,
  );
  assert.equal(done.status, 'active', JSON.stringify(done));
});
