/**
 * Quotas on copy-image (multi-store): image_location_quota at its boundary, which Iris enforces
 * on the copies it adds (Glance 25.1.0 does not, see docs/quotas.md), and user_storage_quota,
 * which a copy charges like an upload (a second copy uses the space twice).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describe, json, putBytes } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

const ADMIN = { 'X-Project-Id': 'copier', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'u' };
let iris: IrisProcess;
let base: string;

before(async () => {
  iris = await startIris({
    env: {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file,local3:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__DEFAULT__IMAGE_LOCATION_QUOTA: '2',
      IRIS__DEFAULT__USER_STORAGE_QUOTA: '250',
    },
  });
  base = iris.baseUrl;
});
after(() => iris.stop());

/** Starts a copy-image to `store` as `headers`, waits for that task (the image's `n`th) to end, returns it. */
async function copyTo(id: string, store: string, n: number, headers: Record<string, string> = ADMIN): Promise<{ status: string; message: string }> {
  const r = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: [store] }, headers);
  assert.equal(r.status, 202, describe(r));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const tasks = (await json('GET', `${base}/v2/images/${id}/tasks`, undefined, headers)).body.tasks as {
      status: string;
      message: string;
      input: { backend: string[] };
    }[];
    if (tasks.length === n && tasks.every((t) => t.status === 'success' || t.status === 'failure')) {
      return tasks.find((t) => t.input.backend.includes(store))!;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`copy of ${id} to ${store} did not finish`);
}

test('image_location_quota 2: the second location is copied, the third copy fails with the quota text', async () => {
  const created = await json('POST', `${base}/v2/images`, { name: 'c', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  const id = created.body.id as string;
  assert.equal((await putBytes(`${base}/v2/images/${id}/file`, Buffer.alloc(100, 1), ADMIN)).status, 204);
  const second = await copyTo(id, 'local2', 1);
  assert.equal(second.status, 'success', JSON.stringify(second));
  // The third copy also fails user_storage_quota (300 > 250); the location quota is checked first.
  const third = await copyTo(id, 'local3', 2);
  assert.equal(third.status, 'failure', JSON.stringify(third));
  assert.equal(third.message, 'The limit has been exceeded on the number of allowed image locations. Attempted: 3, Maximum: 2');
  const image = (await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.deepEqual(image.stores.split(',').sort(), ['local', 'local2']);
});

test('user_storage_quota: a copy is charged like an upload (size × locations)', async () => {
  const created = await json('POST', `${base}/v2/images`, { name: 'd', disk_format: 'raw', container_format: 'bare' }, { ...ADMIN, 'X-Project-Id': 'copier2' });
  const id = created.body.id as string;
  const h = { ...ADMIN, 'X-Project-Id': 'copier2' };
  assert.equal((await putBytes(`${base}/v2/images/${id}/file`, Buffer.alloc(130, 1), h)).status, 204);
  const task = await copyTo(id, 'local2', 1, h);
  assert.equal(task.status, 'failure', JSON.stringify(task));
  assert.equal(task.message, 'Image exceeds the storage quota: The size of the data 130 will exceed the limit. 120 bytes remaining.');
});
