/**
 * Iris with `[glance_store] stores = swift`, `default_store = swift` (single store) against a real
 * Swift: upload (chunked: Glance's DLO segments; with Content-Length below the large-object size:
 * one object), download whole and with Range, locations in Glance's form, delete removing the
 * manifest and its segments; a multi-store swift section and /v2/info/stores/detail.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe as explain, getBytes, json, putBytes } from '../helpers/http.js';
import { listContainer, swiftBackendEnv, swiftStoreEnv } from '../helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';

const MB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('Iris on a swift store', { skip: !requireSwift() && 'Swift is not installed (see the SKIP line above)' }, () => {
  let swift: SwiftServer;
  let iris: IrisProcess;
  let base: string;
  before(async () => {
    swift = await startSwift();
    iris = await startIris({
      env: {
        ...swiftStoreEnv(swift, 'images'),
        IRIS__GLANCE_STORE__SWIFT_STORE_LARGE_OBJECT_SIZE: '2',
        IRIS__GLANCE_STORE__SWIFT_STORE_LARGE_OBJECT_CHUNK_SIZE: '1',
        IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
      },
    });
    base = iris.baseUrl;
  });
  after(async () => {
    await iris?.stop();
    await swift?.stop();
  });

  async function create(name: string): Promise<string> {
    const r = await json('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' });
    assert.equal(r.status, 201, explain(r));
    return r.body.id as string;
  }

  test('a chunked upload becomes DLO segments; download whole and ranged; delete removes every object', async () => {
    const id = await create('dlo');
    const data = randomBytes(Math.floor(2.5 * MB));
    // No Content-Length (as glanceclient sends): Glance writes segments whatever the size.
    const up = await request(`${base}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.from([data.subarray(0, MB), data.subarray(MB)]),
    });
    assert.equal(up.statusCode, 204, await up.body.text());
    const shown = await json('GET', `${base}/v2/images/${id}`);
    assert.equal(shown.body.status, 'active');
    assert.equal(shown.body.checksum, md5(data));
    assert.equal(shown.body.size, data.length);
    assert.deepEqual(await listContainer(swift, 'images', id), [id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
    assert.equal(shown.body.direct_url, `swift+http://test%3Atester:testing@127.0.0.1:${swift.proxyPort}/auth/v1.0/images/${id}`);

    const whole = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(whole.status, 200);
    assert.equal(md5(whole.bytes), md5(data));
    const ranged = await getBytes(`${base}/v2/images/${id}/file`, { range: `bytes=${MB - 10}-${MB + 9}` });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes ${MB - 10}-${MB + 9}/${data.length}`);
    assert.ok(ranged.bytes.equals(data.subarray(MB - 10, MB + 10)));
    const suffix = await getBytes(`${base}/v2/images/${id}/file`, { range: 'bytes=-100' });
    assert.equal(suffix.status, 206);
    assert.ok(suffix.bytes.equals(data.subarray(data.length - 100)));

    const del = await json('DELETE', `${base}/v2/images/${id}`);
    assert.equal(del.status, 204, explain(del));
    assert.deepEqual(await listContainer(swift, 'images', id), []);
  });

  test('an upload with a Content-Length below the large-object size is one object', async () => {
    const id = await create('small');
    const data = randomBytes(MB + 123);
    const up = await putBytes(`${base}/v2/images/${id}/file`, data);
    assert.equal(up.status, 204, explain(up));
    assert.deepEqual(await listContainer(swift, 'images', id), [id]);
    assert.equal(md5((await getBytes(`${base}/v2/images/${id}/file`)).bytes), md5(data));
    assert.equal((await json('DELETE', `${base}/v2/images/${id}`)).status, 204);
    assert.deepEqual(await listContainer(swift, 'images', id), []);
  });

  test('single store: /v2/info/stores is 404, as in Glance', async () => {
    assert.equal((await json('GET', `${base}/v2/info/stores`)).status, 404);
  });

  test('multi-store: a swift backend section works; /v2/info/stores/detail shows its properties as Glance does', async () => {
    const admin = { 'X-Project-Id': 'p1', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'u1' };
    const multi = await startIris({
      env: {
        IRIS__DEFAULT__ENABLED_BACKENDS: 'cloud:swift',
        IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'cloud',
        ...swiftBackendEnv(swift, 'multi', 'cloud'),
      },
    });
    try {
      const r = await json('GET', `${multi.baseUrl}/v2/info/stores/detail`, undefined, admin);
      assert.equal(r.status, 200, explain(r));
      assert.deepEqual(r.body.stores, [
        { id: 'cloud', default: 'true', type: 'swift', properties: { container: 'multi', large_object_size: 5120 * MB, large_object_chunk_size: 200 * MB } },
      ]);
      const c = await json('POST', `${multi.baseUrl}/v2/images`, { name: 'm', disk_format: 'raw', container_format: 'bare' }, admin);
      assert.equal(c.status, 201, explain(c));
      const data = randomBytes(1000);
      assert.equal((await putBytes(`${multi.baseUrl}/v2/images/${c.body.id}/file`, data, admin)).status, 204);
      assert.equal(md5((await getBytes(`${multi.baseUrl}/v2/images/${c.body.id}/file`, admin)).bytes), md5(data));
      assert.deepEqual(await listContainer(swift, 'multi', c.body.id), [c.body.id]);
      assert.equal((await json('DELETE', `${multi.baseUrl}/v2/images/${c.body.id}`, undefined, admin)).status, 204);
      assert.deepEqual(await listContainer(swift, 'multi', c.body.id), []);
    } finally {
      await multi.stop();
    }
  });
});
