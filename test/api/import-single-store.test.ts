/**
 * Import with Iris's defaults (one filesystem store, all import methods, as Glance without
 * enabled_backends): no store discovery, no `stores` field, glance-direct still works.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';

const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };
let iris: IrisProcess;
before(async () => {
  iris = await startIris();
});
after(() => iris.stop());

test('single store: stores discovery is 404, the import header lists the methods only', async () => {
  const stores = await json('GET', `${iris.baseUrl}/v2/info/stores`);
  assert.equal(stores.status, 404, describe(stores));
  assert.match(stores.text, /Multi backend is not supported at this site/);
  const del = await json('DELETE', `${iris.baseUrl}/v2/stores/file/00000000-0000-0000-0000-000000000000`);
  assert.equal(del.status, 404, describe(del));
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'x', disk_format: 'raw', container_format: 'bare' }, A);
  assert.equal(created.headers.get('openstack-image-import-methods'), 'glance-direct,web-download,copy-image');
  assert.equal(created.headers.get('openstack-image-store-ids'), null);
});

test('single store: glance-direct import becomes active without a stores field', async () => {
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'gd', disk_format: 'raw', container_format: 'bare' }, A);
  const id = created.body.id as string;
  const data = randomBytes(3 * 1024 * 1024 + 5);
  assert.equal((await putBytes(`${iris.baseUrl}/v2/images/${id}/stage`, data, A)).status, 204);
  const bad = await json('POST', `${iris.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' }, all_stores_must_succeed: false }, A);
  assert.equal(bad.status, 400, describe(bad));
  assert.match(bad.text, /All_stores_must_succeed can only be set with enabled_backends None/);
  assert.equal((await json('POST', `${iris.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A)).status, 202);
  let image: any;
  for (let i = 0; i < 200; i++) {
    image = (await json('GET', `${iris.baseUrl}/v2/images/${id}`, undefined, A)).body;
    if (image.status === 'active' && image.os_glance_import_task === undefined) break;
    await sleep(50);
  }
  assert.equal(image.status, 'active', JSON.stringify(image));
  assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
  assert.equal(image.stores, undefined);
  const tasks = await json('GET', `${iris.baseUrl}/v2/images/${id}/tasks`, undefined, A);
  assert.deepEqual(tasks.body.tasks[0].input.backend, [null]);
  assert.equal(tasks.body.tasks[0].message, 'Copied 3 MiB');
});
