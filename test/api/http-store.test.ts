/**
 * The http store through the API, as the install guide's `stores = file,http` configures it: an
 * image whose location is an http URL (put in the database here, as the locations API or a
 * database carried from Glance would) downloads whole and by Range through the http driver;
 * a download falls back across locations (a lost file, then http); uploads to a read-only
 * default store answer Glance's 410.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { ImageServer } from '../helpers/image-http-server.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import type { ImageLocation } from '../../src/domain/image.js';

const HTTP_STORE_ENV = {
  IRIS__GLANCE_STORE__STORES: 'file,http',
  IRIS__GLANCE_STORE__DEFAULT_STORE: 'file',
  // The image server of this test is on loopback, which the address policy refuses otherwise.
  IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
  IRIS__DEFAULT__DEBUG: 'true',
};

const server = new ImageServer();
let iris: IrisProcess;
let base: string;
before(async () => {
  await server.start();
  iris = await startIris({ env: HTTP_STORE_ENV });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  await server.stop();
});

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

/** An active image of `data` uploaded to the file store; returns its id. */
async function fileImage(data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'http-store', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, describe(created));
  const put = await putBytes(`${base}/v2/images/${created.body.id}/file`, data);
  assert.equal(put.status, 204, describe(put));
  return created.body.id as string;
}

/** Replaces the image's locations in the database (what issue 20's locations API will do). */
async function setLocations(id: string, locations: (current: readonly ImageLocation[]) => ImageLocation[]): Promise<void> {
  const database = openDatabase({ sqlitePath: join(iris.dataDir, 'iris.sqlite') });
  try {
    const images = createImageRepository(database.db);
    const image = await images.get(id);
    assert.ok(image);
    await images.save({ ...image, locations: locations(image.locations) });
  } finally {
    await database.close();
  }
}

test('an image located at an http URL downloads whole and by Range through the http store', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const id = await fileImage(data);
  server.objects.set(id, data);
  await setLocations(id, () => [{ url: `${server.base}/images/${id}`, metadata: {}, status: 'active' }]);
  // The file copy is gone: only the http server can answer now.
  rmSync(join(iris.dataDir, 'images', id));

  server.requests.length = 0;
  const whole = await getBytes(`${base}/v2/images/${id}/file`);
  assert.equal(whole.status, 200);
  assert.equal(md5(whole.bytes), md5(data));
  assert.equal(whole.headers.get('content-md5'), md5(data));
  assert.deepEqual(server.requests.map((r) => [r.method, r.url]), [['GET', `/images/${id}`]]);

  for (const [header, start, end] of [
    ['bytes=0-0', 0, 0],
    ['bytes=1000-2000000', 1000, 2_000_000],
    ['bytes=3145000-', 3_145_000, data.length - 1],
    ['bytes=-100', data.length - 100, data.length - 1],
  ] as const) {
    const part = await getBytes(`${base}/v2/images/${id}/file`, { Range: header });
    assert.equal(part.status, 206, header);
    assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`, header);
    assert.ok(part.bytes.equals(data.subarray(start, end + 1)), header);
  }
  // The range went to the http server as a Range request, not as a whole read.
  assert.equal(server.requests.at(-1)?.range, `bytes=${data.length - 100}-${data.length - 1}`);

  const unsatisfiable = await getBytes(`${base}/v2/images/${id}/file`, { Range: `bytes=${data.length}-` });
  assert.equal(unsatisfiable.status, 416);
});

test('download falls back across locations: a lost file, then the http copy (file -> http)', async () => {
  const data = randomBytes(200_000);
  const id = await fileImage(data);
  server.objects.set(id, data);
  await setLocations(id, (current) => [...current, { url: `${server.base}/images/${id}`, metadata: {}, status: 'active' }]);

  // Both there: the first location (the file) serves, the http server is not asked.
  server.requests.length = 0;
  const first = await getBytes(`${base}/v2/images/${id}/file`, { Range: 'bytes=10-19' });
  assert.equal(first.status, 206);
  assert.ok(first.bytes.equals(data.subarray(10, 20)));
  assert.deepEqual(server.requests, []);

  rmSync(join(iris.dataDir, 'images', id));
  const fallback = await getBytes(`${base}/v2/images/${id}/file`, { Range: 'bytes=10-19' });
  assert.equal(fallback.status, 206);
  assert.ok(fallback.bytes.equals(data.subarray(10, 20)));
  assert.equal(server.requests.length, 1);
  assert.match(iris.logs(), new RegExp(`image data could not be read from a location; trying the next one.*${id}|${id}.*trying the next one`));

  // Neither there: the last failure is answered (the http server's 404 is Glance's NotFound).
  server.objects.delete(id);
  const none = await getBytes(`${base}/v2/images/${id}/file`);
  assert.equal(none.status, 404);
});

test('deleting an image located at an http URL leaves the remote data alone', async () => {
  const data = randomBytes(1000);
  const id = await fileImage(data);
  server.objects.set(id, data);
  await setLocations(id, () => [{ url: `${server.base}/images/${id}`, metadata: {}, status: 'active' }]);
  const del = await json('DELETE', `${base}/v2/images/${id}`);
  assert.equal(del.status, 204, describe(del));
  assert.ok(server.objects.has(id));
});

test('traces of the blob layer are debug lines with image id, store, bytes and ms', async () => {
  const data = randomBytes(5000);
  const id = await fileImage(data);
  const read = await getBytes(`${base}/v2/images/${id}/file`);
  assert.equal(read.status, 200);
  const lines = iris
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(id))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const put = lines.find((l) => l.msg === 'blob written');
  assert.deepEqual(put && [put.level, put.op, put.store, put.bytes, typeof put.ms], [20, 'put', 'file', 5000, 'number']);
  // The read's line is written when its stream closes, which may be just after the client has it all.
  const deadline = Date.now() + 5000;
  let got: Record<string, unknown> | undefined;
  while (!got && Date.now() < deadline) {
    got = iris.logs().split('\n').filter((l) => l.includes(id) && l.includes('"blob read"')).map((l) => JSON.parse(l) as Record<string, unknown>)[0];
    if (!got) await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(got && [got.level, got.op, got.store, got.bytes, got.complete], [20, 'get', 'file', 5000, true]);
});

test('default_store = http: uploads are refused as Glance refuses them (410) and the image stays queued', async (t) => {
  const readOnly = await startIris({ env: { ...HTTP_STORE_ENV, IRIS__GLANCE_STORE__DEFAULT_STORE: 'http' } });
  t.after(() => readOnly.stop());
  const created = await json('POST', `${readOnly.baseUrl}/v2/images`, { name: 'ro', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, describe(created));
  const put = await putBytes(`${readOnly.baseUrl}/v2/images/${created.body.id}/file`, randomBytes(1000));
  assert.equal(put.status, 410, describe(put));
  assert.match(put.text, /Error in store configuration\. Adding images to store is disabled\./);
  const image = await json('GET', `${readOnly.baseUrl}/v2/images/${created.body.id}`);
  assert.equal(image.body.status, 'queued');
});

test('multi-store with an http store: discovery as Glance, and copy-image from an http location into a file store', async (t) => {
  const multi = await startIris({
    env: {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,web:http',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__WEB__STORE_DESCRIPTION: 'web images',
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
  t.after(() => multi.stop());
  const admin = { 'X-Project-Id': 'p', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'u' };
  const stores = await json('GET', `${multi.baseUrl}/v2/info/stores`, undefined, admin);
  assert.equal(stores.text, '{"stores": [{"id": "local", "default": "true"}, {"id": "web", "description": "web images", "read-only": "true"}]}');
  const detail = await json('GET', `${multi.baseUrl}/v2/info/stores/detail`, undefined, admin);
  assert.equal(detail.status, 200, describe(detail));
  assert.deepEqual(detail.body.stores, [
    {
      id: 'local',
      default: 'true',
      type: 'file',
      properties: { data_dir: join(multi.dataDir, 'images', 'local'), chunk_size: 65536, thin_provisioning: false },
    },
    { id: 'web', description: 'web images', 'read-only': 'true', type: 'http', properties: {} },
  ]);

  // An image whose only location is on the web store, copied into the file store.
  const data = randomBytes(100_000);
  const created = await json('POST', `${multi.baseUrl}/v2/images`, { name: 'web', disk_format: 'raw', container_format: 'bare' }, admin);
  const id = created.body.id as string;
  const put = await putBytes(`${multi.baseUrl}/v2/images/${id}/file`, data, admin);
  assert.equal(put.status, 204, describe(put));
  server.objects.set(id, data);
  const database = openDatabase({ sqlitePath: join(multi.dataDir, 'iris.sqlite') });
  try {
    const images = createImageRepository(database.db);
    const image = await images.get(id);
    assert.ok(image);
    await images.save({ ...image, locations: [{ url: `${server.base}/images/${id}`, metadata: { store: 'web' }, status: 'active' }] });
  } finally {
    await database.close();
  }
  rmSync(join(multi.dataDir, 'images', 'local', id));
  assert.equal((await json('GET', `${multi.baseUrl}/v2/images/${id}`, undefined, admin)).body.stores, 'web');

  const copy = await json('POST', `${multi.baseUrl}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local'] }, admin);
  assert.equal(copy.status, 202, describe(copy));
  let image: any;
  for (let i = 0; i < 400; i++) {
    image = (await json('GET', `${multi.baseUrl}/v2/images/${id}`, undefined, admin)).body;
    if (image.os_glance_import_task === undefined && image.status !== 'importing') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(image.stores, 'web,local', `${JSON.stringify(image)}\n${multi.logs().slice(-2000)}`);
  // The file store's copy is whole, and serves once the web copy is gone.
  server.objects.delete(id);
  const back = await getBytes(`${multi.baseUrl}/v2/images/${id}/file`, admin);
  assert.equal(back.status, 200);
  assert.equal(md5(back.bytes), md5(data));

});
