/**
 * The image cache through a real Iris (image_cache_dir set) over HTTP: a download fills the
 * cache and the next one is served from it with the store gone (whole and Range); a corrupted
 * cache file is never served silently; deactivate and delete invalidate; the cache API answers
 * with Glance 25.1.0's statuses and bodies (the exchanges compared with the real Glance are
 * listed in docs/cache.md); the version list is Glance's with the cache on, at v2.18.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe as show, getBytes, json, putBytes } from '../helpers/http.js';
import { until } from '../helpers/store-files.js';

const KIB = 1024;
/** The cache API's rules default to role:admin (an anonymous hybrid caller is refused, as by Glance). */
const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'p-admin', 'X-User-Id': 'u-admin' };
const MEMBER = { 'X-Roles': 'member,reader', 'X-Project-Id': 'p-member', 'X-User-Id': 'u-member' };

let iris: IrisProcess;
let base: string;
let cacheDir: string;
before(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'iris-cache-api-'));
  iris = await startIris({
    env: {
      IRIS__DEFAULT__IMAGE_CACHE_DIR: cacheDir,
      IRIS__IRIS__IMAGE_CACHE_MIN_FREE_SPACE: '0',
      IRIS__DEFAULT__WORKER_SELF_REFERENCE_URL: 'http://127.0.0.1:1',
    },
  });
  base = iris.baseUrl;
});
after(async () => {
  await iris.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
const storeFile = (id: string) => join(iris.dataDir, 'images', id);
function cacheFile(id: string): string {
  const [nodeDir] = readdirSync(cacheDir).filter((n) => n.startsWith('node-'));
  assert.ok(nodeDir, `a node directory under ${cacheDir}`);
  return join(cacheDir, nodeDir, id);
}

async function imageWith(data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'cached', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, show(created));
  const put = await putBytes(`${base}/v2/images/${created.body.id}/file`, data);
  assert.equal(put.status, 204, show(put));
  return created.body.id as string;
}

interface CacheState {
  cached_images: { image_id: string; hits: number; last_accessed: number; last_modified: number; size: number }[];
  queued_images: string[];
}
async function cacheState(): Promise<CacheState> {
  const r = await json<CacheState>('GET', `${base}/v2/cache`, undefined, ADMIN);
  assert.equal(r.status, 200, show(r));
  return r.body;
}
const cachedIds = async () => (await cacheState()).cached_images.map((c) => c.image_id);
/** Waits until the cache lists (or no longer lists) `id`: its commit runs after the response. */
const untilCached = (id: string, present = true) =>
  until(`${id} ${present ? 'in' : 'out of'} the cache`, async () => ((await cachedIds()).includes(id) === present ? true : undefined));

test('the version list with the cache on: v2.18 CURRENT (clean and prune), v2.17 (locations), then 25.1.0\'s v2.16, v2.15, v2.14', async () => {
  const r = await json('GET', `${base}/versions`);
  assert.equal(r.status, 200);
  const ids = (r.body.versions as { id: string; status: string }[]).map((v) => `${v.id} ${v.status}`);
  assert.deepEqual(ids.slice(0, 6), ['v2.18 CURRENT', 'v2.17 SUPPORTED', 'v2.16 SUPPORTED', 'v2.15 SUPPORTED', 'v2.14 SUPPORTED', 'v2.9 SUPPORTED']);
});

describe('downloads through the cache', () => {
  test('the second download comes from the cache: the store file is gone and the bytes are still right (Range too)', async () => {
    const data = randomBytes(3 * 1024 * KIB + 11);
    const id = await imageWith(data);
    const first = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(first.status, 200);
    assert.equal(md5(first.bytes), md5(data));
    await untilCached(id);
    assert.equal(existsSync(cacheFile(id)), true);

    unlinkSync(storeFile(id)); // the store can no longer serve this image
    const second = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('content-md5'), md5(data));
    assert.equal(second.headers.get('content-length'), String(data.length));
    assert.ok(second.bytes.equals(data), 'the whole image, from the cache');
    const part = await getBytes(`${base}/v2/images/${id}/file`, { Range: 'bytes=1048570-2097160' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1048570-2097160/${data.length}`);
    assert.ok(part.bytes.equals(data.subarray(1048570, 2097161)), 'a range, from the cache');
    await until('both hits recorded', async () => {
      const entry = (await cacheState()).cached_images.find((c) => c.image_id === id);
      return entry !== undefined && entry.hits >= 2 ? entry : undefined;
    });
  });

  test('a cache file corrupted in place is never delivered complete; it is evicted and the store serves again', async () => {
    const data = randomBytes(2 * 1024 * KIB);
    const id = await imageWith(data);
    await getBytes(`${base}/v2/images/${id}/file`);
    await untilCached(id);
    const handle = await open(cacheFile(id), 'r+');
    await handle.write(Buffer.from('corrupt!'), 0, 8, 1024 * KIB);
    await handle.close();
    // The transfer breaks before its end (the hash is checked in the same pass, the last chunk held back).
    let wrong: Buffer | undefined;
    try {
      wrong = (await getBytes(`${base}/v2/images/${id}/file`)).bytes;
    } catch {
      // a broken transfer: what is expected
    }
    assert.ok(wrong === undefined || wrong.length < data.length, 'never a complete body of wrong bytes');
    await untilCached(id, false);
    const again = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(again.status, 200);
    assert.ok(again.bytes.equals(data), 'served from the store');
  });

  test('a cache file of the wrong size is evicted and that same request is served from the store', async () => {
    const data = randomBytes(1024 * KIB);
    const id = await imageWith(data);
    await getBytes(`${base}/v2/images/${id}/file`);
    await untilCached(id);
    truncateSync(cacheFile(id), 1000);
    const r = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(r.status, 200);
    assert.ok(r.bytes.equals(data));
    // That read from the store cached the image afresh, whole this time.
    await until('the image cached again, whole', async () => {
      const entry = (await cacheState()).cached_images.find((c) => c.image_id === id);
      return entry !== undefined && entry.hits === 0 && existsSync(cacheFile(id)) ? entry : undefined;
    });
    assert.equal(statSync(cacheFile(id)).size, data.length);
  });

  test('deactivating and deleting an image drop its cache entry at once', async () => {
    const data = randomBytes(512 * KIB);
    const id = await imageWith(data);
    await getBytes(`${base}/v2/images/${id}/file`);
    await untilCached(id);
    assert.equal((await json('POST', `${base}/v2/images/${id}/actions/deactivate`)).status, 204);
    assert.equal((await cachedIds()).includes(id), false, 'gone on deactivate');
    assert.equal(existsSync(cacheFile(id)), false);
    assert.equal((await json('POST', `${base}/v2/images/${id}/actions/reactivate`)).status, 204);
    await getBytes(`${base}/v2/images/${id}/file`);
    await untilCached(id);
    assert.equal((await json('DELETE', `${base}/v2/images/${id}`)).status, 204);
    assert.equal((await cachedIds()).includes(id), false, 'gone on delete');
    assert.equal(existsSync(cacheFile(id)), false);
  });
});

describe('the cache API, as Glance 25.1.0 answers it', () => {
  test('GET /v2/cache lists entries with Glance\'s fields; PUT queues (202); DELETE of one (204) and of all (204)', async () => {
    const data = randomBytes(64 * KIB);
    const cachedId = await imageWith(data);
    await getBytes(`${base}/v2/images/${cachedId}/file`);
    await untilCached(cachedId);
    const queuedId = await imageWith(randomBytes(1000));

    const put = await json('PUT', `${base}/v2/cache/${queuedId}`, undefined, ADMIN);
    assert.equal(put.status, 202, show(put));
    assert.equal(put.text, '');
    const state = await json('GET', `${base}/v2/cache`, undefined, ADMIN);
    assert.equal(state.status, 200);
    assert.equal(state.headers.get('content-type'), 'application/json');
    assert.deepEqual(Object.keys(state.body).sort(), ['cached_images', 'queued_images']);
    assert.ok((state.body.queued_images as string[]).includes(queuedId));
    const entry = (state.body as CacheState).cached_images.find((c) => c.image_id === cachedId);
    assert.ok(entry);
    assert.deepEqual(Object.keys(entry).sort(), ['hits', 'image_id', 'last_accessed', 'last_modified', 'size']);
    assert.equal(entry.size, data.length);
    assert.equal(entry.hits, 0);
    assert.equal(typeof entry.last_accessed, 'number');
    assert.ok(Math.abs(entry.last_modified - Date.now() / 1000) < 3600, 'epoch seconds');

    const del = await json('DELETE', `${base}/v2/cache/${queuedId}`, undefined, ADMIN);
    assert.equal(del.status, 204, show(del));
    assert.equal((await cacheState()).queued_images.includes(queuedId), false);

    assert.equal((await json('PUT', `${base}/v2/cache/${queuedId}`, undefined, ADMIN)).status, 202);
    const clearQueue = await json('DELETE', `${base}/v2/cache`, undefined, { ...ADMIN, 'x-image-cache-clear-target': 'queue' });
    assert.equal(clearQueue.status, 204, show(clearQueue));
    assert.deepEqual((await cacheState()).queued_images, []);
    assert.ok((await cachedIds()).includes(cachedId), 'target queue leaves the cache alone');
    const clearAll = await json('DELETE', `${base}/v2/cache`, undefined, ADMIN);
    assert.equal(clearAll.status, 204);
    assert.deepEqual(await cacheState(), { cached_images: [], queued_images: [] });
  });

  test('errors: unknown image 404, inactive image 400, bad clear target 400, non-admin 403', async () => {
    const missing = '8a0e8f4c-0000-4000-8000-000000000001';
    const put404 = await json('PUT', `${base}/v2/cache/${missing}`, undefined, ADMIN);
    assert.equal(put404.status, 404);
    assert.match(put404.body.message, new RegExp(`Image ${missing} not found\\.`));
    const del404 = await json('DELETE', `${base}/v2/cache/${missing}`, undefined, ADMIN);
    assert.equal(del404.status, 404);
    assert.match(del404.body.message, new RegExp(`Image ${missing} not found\\.`));

    const queued = await json('POST', `${base}/v2/images`, { name: 'no data' });
    const put400 = await json('PUT', `${base}/v2/cache/${queued.body.id}`, undefined, ADMIN);
    assert.equal(put400.status, 400);
    assert.match(put400.body.message, /Only images with status active can be targeted for queueing/);

    const bad = await json('DELETE', `${base}/v2/cache`, undefined, { ...ADMIN, 'x-image-cache-clear-target': 'both' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string\./);

    const forbidden = await json('GET', `${base}/v2/cache`, undefined, MEMBER);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.message, 'You are not authorized to complete cache_list action.<br /><br />\n\n\n');
    assert.equal((await json('DELETE', `${base}/v2/cache`, undefined, MEMBER)).status, 403);
  });

  test('the prefetcher is not run by PUT: the image stays queued until the interval (300 s by default)', async () => {
    const id = await imageWith(randomBytes(4 * KIB));
    assert.equal((await json('PUT', `${base}/v2/cache/${id}`, undefined, ADMIN)).status, 202);
    const state = await cacheState();
    assert.ok(state.queued_images.includes(id));
    assert.equal(state.cached_images.some((c) => c.image_id === id), false);
  });
});
