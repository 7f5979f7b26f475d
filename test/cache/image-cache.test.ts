/**
 * The image cache module (src/cache/image-cache.ts) on a real SQLite database and real temp
 * directories: fill while streaming, verification before commit, nothing left by a caller who
 * leaves, corrupted files never delivered complete, LRU pruning, the free-space floor, cleaning.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createImageCache, type ImageCache } from '../../src/cache/image-cache.js';
import type { Image } from '../../src/domain/image.js';
import { createCacheRecordRepository } from '../../src/persistence/image-cache-repository.js';
import { createTestDb, makeImage, type TestDb } from '../persistence/sqlite-fixture.js';

const KIB = 1024;

function imageOf(data: Buffer, overrides: Partial<Image> = {}): Image {
  return makeImage({
    status: 'active',
    size: data.length,
    checksum: createHash('md5').update(data).digest('hex'),
    os_hash_algo: 'sha512',
    os_hash_value: createHash('sha512').update(data).digest('hex'),
    ...overrides,
  });
}

/** The data in chunks of 64 KiB, as a store would stream it. */
function sourceOf(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 64 * KIB) chunks.push(data.subarray(i, i + 64 * KIB));
  return Readable.from(chunks, { objectMode: false });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('image cache', () => {
  let t: TestDb;
  let dir: string;
  let cache: ImageCache;
  let now = 1_000_000;
  let free = Number.MAX_SAFE_INTEGER;
  const errors: string[] = [];

  function makeCache(maxSize: number, minFreeSpace = 0): ImageCache {
    return createImageCache({
      dir,
      node: 'http://node-a:9292',
      records: createCacheRecordRepository(t.db),
      maxSize,
      stallTimeMs: 60_000,
      minFreeSpace,
      now: () => now,
      onError: (message) => errors.push(message),
      freeSpace: async () => free,
      chunkSize: 16 * KIB,
    });
  }

  before(async () => {
    t = await createTestDb();
  });
  after(async () => {
    await t.cleanup();
  });
  beforeEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'iris-cache-'));
    await t.db.deleteFrom('cached_images').execute();
    free = Number.MAX_SAFE_INTEGER;
    errors.length = 0;
    cache = makeCache(10 * 1024 * KIB);
    await cache.prepare();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const incompleteFiles = () => readdirSync(join(cache.directory, 'incomplete'));

  test('a full read fills the cache; later reads (whole and ranges) come from it', async () => {
    const data = randomBytes(300 * KIB + 7);
    const image = imageOf(data);
    assert.equal(await cache.open(image, null), null, 'nothing cached yet');
    const fill = cache.fill(image, sourceOf(data));
    assert.deepEqual(await readAll(fill.stream), data, 'the caller gets the bytes while they are cached');
    assert.equal(await fill.done, true);
    assert.deepEqual((await cache.listCached()).map((r) => [r.imageId, r.size]), [[image.id, data.length]]);
    assert.deepEqual(incompleteFiles(), []);

    now += 5;
    const hit = await cache.open(image, null);
    assert.ok(hit);
    assert.equal(hit.size, data.length);
    assert.deepEqual(await readAll(hit.stream), data);
    const range = await cache.open(image, { start: 100 * KIB, end: 200 * KIB });
    assert.ok(range);
    assert.deepEqual(await readAll(range.stream), data.subarray(100 * KIB, 200 * KIB + 1));
    await cache.settled();
    const [entry] = await cache.listCached();
    assert.equal(entry?.hits, 2);
    assert.equal(entry?.lastAccessed, now);
    assert.deepEqual(errors, []);
  });

  test('a caller who leaves mid-way leaves no entry and no incomplete file', async () => {
    const data = randomBytes(512 * KIB);
    const image = imageOf(data);
    const fill = cache.fill(image, sourceOf(data));
    let seen = 0;
    for await (const chunk of fill.stream) {
      seen += (chunk as Buffer).length;
      if (seen >= 128 * KIB) break; // for-await's break destroys the stream, as a closed socket does
    }
    assert.equal(await fill.done, false);
    await cache.settled();
    assert.deepEqual(await cache.listCached(), []);
    assert.deepEqual(incompleteFiles(), []);
    assert.equal(existsSync(join(cache.directory, image.id)), false);
  });

  test('data that does not match the image checksums is passed on but never cached', async () => {
    const data = randomBytes(200 * KIB);
    const image = imageOf(data, { os_hash_value: 'f'.repeat(128) });
    const fill = cache.fill(image, sourceOf(data));
    assert.deepEqual(await readAll(fill.stream), data);
    assert.equal(await fill.done, false);
    assert.deepEqual(await cache.listCached(), []);
    assert.deepEqual(incompleteFiles(), []);
    assert.ok(errors.some((e) => e.includes('does not match its checksums')), errors.join('\n'));
  });

  test('a file corrupted in place is never delivered complete: the read fails and the entry goes', async () => {
    const data = randomBytes(256 * KIB);
    const image = imageOf(data);
    const fill = cache.fill(image, sourceOf(data));
    await readAll(fill.stream);
    assert.equal(await fill.done, true);
    // Same size, one byte changed near the end.
    const handle = await open(join(cache.directory, image.id), 'r+');
    await handle.write(Buffer.from([data[200 * KIB]! ^ 0xff]), 0, 1, 200 * KIB);
    await handle.close();
    const hit = await cache.open(image, null);
    assert.ok(hit, 'the size still matches: served, with the CRC-32 checked in the same pass');
    let received = 0;
    await assert.rejects(async () => {
      for await (const chunk of hit.stream) received += (chunk as Buffer).length;
    }, /does not match its recorded checksum/);
    assert.ok(received < data.length, `held back the end: ${received} of ${data.length} bytes delivered`);
    await cache.settled();
    assert.deepEqual(await cache.listCached(), [], 'evicted');
    assert.equal(await cache.open(image, null), null, 'the next read goes to the store');
  });

  test('a file of the wrong size is evicted before a byte is served', async () => {
    const data = randomBytes(128 * KIB);
    const image = imageOf(data);
    const fill = cache.fill(image, sourceOf(data));
    await readAll(fill.stream);
    assert.equal(await fill.done, true);
    truncateSync(join(cache.directory, image.id), 1000);
    assert.equal(await cache.open(image, { start: 0, end: 10 }), null);
    await cache.settled();
    assert.deepEqual(await cache.listCached(), []);
  });

  test('an entry is not served once the image is inactive or its checksums changed; it is evicted', async () => {
    const data = randomBytes(64 * KIB);
    const image = imageOf(data);
    const fill = cache.fill(image, sourceOf(data));
    await readAll(fill.stream);
    assert.equal(await fill.done, true);
    assert.equal(await cache.open({ ...image, status: 'deactivated' }, null), null);
    await cache.settled();
    assert.deepEqual(await cache.listCached(), []);

    // Cached again, then the image's data changes (new checksums, same size): not served, evicted.
    const again = cache.fill(image, sourceOf(data));
    await readAll(again.stream);
    assert.equal(await again.done, true);
    const other = randomBytes(64 * KIB);
    assert.equal(await cache.open(imageOf(other, { id: image.id }), null), null);
    assert.deepEqual(await cache.listCached(), []);
    assert.equal(existsSync(join(cache.directory, image.id)), false);
  });

  test('LRU pruning keeps the cache within max size; an image above max size is never cached', async () => {
    cache = makeCache(250 * KIB);
    const images = [randomBytes(100 * KIB), randomBytes(100 * KIB), randomBytes(100 * KIB)].map((d) => ({ data: d, image: imageOf(d) }));
    const [a, b, c] = images as [(typeof images)[0], (typeof images)[0], (typeof images)[0]];
    for (const { data, image } of [a, b]) {
      now += 10;
      const fill = cache.fill(image, sourceOf(data));
      await readAll(fill.stream);
      assert.equal(await fill.done, true);
    }
    now += 10;
    await readAll((await cache.open(a.image, null))!.stream); // a is now the most recently used
    await cache.settled();
    now += 10;
    const fill = cache.fill(c.image, sourceOf(c.data));
    await readAll(fill.stream);
    assert.equal(await fill.done, true);
    assert.deepEqual((await cache.listCached()).map((r) => r.imageId).sort(), [a.image.id, c.image.id].sort(), 'b, least recently used, pruned');
    assert.equal(existsSync(join(cache.directory, b.image.id)), false);

    const big = randomBytes(300 * KIB);
    const bigFill = cache.fill(imageOf(big), sourceOf(big));
    assert.deepEqual(await readAll(bigFill.stream), big);
    assert.equal(await bigFill.done, false);
  });

  test('concurrent prunes in one process run one after the other: each entry removed and counted once', async () => {
    for (const d of [randomBytes(100 * KIB), randomBytes(100 * KIB), randomBytes(100 * KIB), randomBytes(100 * KIB)]) {
      now += 10;
      const fill = cache.fill(imageOf(d), sourceOf(d));
      await readAll(fill.stream);
      assert.equal(await fill.done, true);
    }
    // The limit lowered to two entries (a restart with a smaller image_cache_max_size); three
    // prunes at once (API calls, the prefetcher), in one process.
    const small = makeCache(250 * KIB);
    const results = await Promise.all([small.prune(), small.prune(), small.prune()]);
    assert.equal(results.reduce((n, r) => n + r.files, 0), 2, JSON.stringify(results));
    assert.equal(results.reduce((n, r) => n + r.bytes, 0), 200 * KIB);
    assert.equal((await cache.listCached()).length, 2);
    assert.deepEqual(await small.prune(), { files: 0, bytes: 0 });
  });

  test('the free-space floor: entries are pruned to make room, and nothing is cached when room cannot be made', async () => {
    cache = makeCache(10 * 1024 * KIB, 1024 * KIB);
    const first = randomBytes(100 * KIB);
    free = 1024 * KIB + 150 * KIB;
    const fill = cache.fill(imageOf(first), sourceOf(first));
    await readAll(fill.stream);
    assert.equal(await fill.done, true);
    free = 1024 * KIB + 50 * KIB; // the disk filled up meanwhile: below floor + 100 KiB
    const second = randomBytes(100 * KIB);
    const secondFill = cache.fill(imageOf(second), sourceOf(second));
    assert.deepEqual(await readAll(secondFill.stream), second, 'served regardless');
    assert.equal(await secondFill.done, false, 'the floor would be crossed: not cached');
    assert.deepEqual(await cache.listCached(), [], 'and the older entry was pruned trying to make room');
  });

  test('clean removes stalled incomplete files, orphans and entries of images gone or changed', async () => {
    const data = randomBytes(32 * KIB);
    const live = imageOf(data);
    await t.repo.add(live);
    const gone = imageOf(data);
    for (const image of [live, gone]) {
      const fill = cache.fill(image, sourceOf(data));
      await readAll(fill.stream);
      assert.equal(await fill.done, true);
    }
    const stalled = join(cache.directory, 'incomplete', `${live.id}.${process.pid}.abcd`);
    const fresh = join(cache.directory, 'incomplete', `${gone.id}.${process.pid}.abcd`);
    // Young, but its writer (a pid no process has: above pid_max) is gone: a crash left it.
    const crashed = join(cache.directory, 'incomplete', `${gone.id}.99999999.abcd`);
    const orphan = join(cache.directory, 'ffffffff-0000-4000-8000-000000000000');
    for (const f of [stalled, fresh, crashed, orphan]) writeFileSync(f, 'x');
    const old = new Date(now - 120_000);
    utimesSync(stalled, old, old);
    utimesSync(orphan, old, old);
    const nowDate = new Date(now);
    utimesSync(fresh, nowDate, nowDate);
    utimesSync(crashed, nowDate, nowDate);
    assert.deepEqual(await cache.clean(), { stalled: 2, invalid: 1, orphans: 1 });
    assert.equal(existsSync(crashed), false);
    assert.deepEqual((await cache.listCached()).map((r) => r.imageId), [live.id]);
    assert.equal(existsSync(fresh), true, 'a young incomplete file may be a fill in progress');
    assert.equal(existsSync(stalled), false);
    assert.equal(existsSync(orphan), false);
  });
});
