/**
 * The cache prefetcher (src/cache/prefetcher.ts) on node:test's mock timers: nothing happens
 * before cache_prefetcher_interval passes; then queued active images are cached and leave the
 * queue, images that no longer exist are dropped, inactive ones stay queued, and a failed
 * fetch stays queued for the next run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createImageCache } from '../../src/cache/image-cache.js';
import { createPrefetcher } from '../../src/cache/prefetcher.js';
import type { Image } from '../../src/domain/image.js';
import { createCacheRecordRepository } from '../../src/persistence/image-cache-repository.js';
import { createTestDb, makeImage, type TestDb } from '../persistence/sqlite-fixture.js';
import { until } from '../helpers/store-files.js';

let t: TestDb;
let dir: string;
before(async () => {
  t = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'iris-prefetch-'));
});
after(async () => {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('queued images are fetched every cache_prefetcher_interval, and only then', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const errors: string[] = [];
    const cache = createImageCache({
      dir,
      node: 'http://node-a:9292',
      records: createCacheRecordRepository(t.db),
      maxSize: 1 << 30,
      stallTimeMs: 86_400_000,
      minFreeSpace: 0,
      now: Date.now,
      onError: (message) => errors.push(message),
      freeSpace: async () => Number.MAX_SAFE_INTEGER,
    });
    await cache.prepare();
    const data = randomBytes(200 * 1024);
    const sums = {
      size: data.length,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    };
    const active = makeImage({ status: 'active', ...sums });
    const failing = makeImage({ status: 'active', ...sums });
    const inactive = makeImage({ status: 'deactivated', ...sums });
    const images = new Map<string, Image>([active, failing, inactive].map((i) => [i.id, i]));
    // In the database too: each run ends with a clean, which drops entries of images it cannot find.
    for (const image of images.values()) await t.repo.add(image);
    const reads: string[] = [];
    const prefetcher = createPrefetcher({
      cache,
      getImage: async (id) => images.get(id) ?? null,
      readImage: async (image) => {
        reads.push(image.id);
        if (image.id === failing.id) throw new Error('store unreachable');
        return Readable.from([data]);
      },
      intervalMs: 300_000,
      onError: (message) => errors.push(message),
    });
    for (const id of [active.id, failing.id, inactive.id, 'vanished-image']) assert.equal(await cache.queue(id), true);
    const stop = prefetcher.start();
    try {
      mock.timers.tick(299_999);
      assert.equal(prefetcher.current, undefined, 'no run before the interval');
      assert.deepEqual(reads, []);
      mock.timers.tick(1);
      const run = prefetcher.current;
      assert.ok(run, 'a run started when the interval passed');
      assert.equal(await run, 1);
      assert.deepEqual(reads, [active.id, failing.id]);
      assert.deepEqual((await cache.listCached()).map((r) => r.imageId), [active.id]);
      assert.deepEqual((await cache.listQueued()).sort(), [failing.id, inactive.id].sort(), 'cached and vanished ones left the queue');
      assert.ok(errors.some((e) => e.includes('left queued')), errors.join('\n'));

      // The next interval tries the failed one again.
      images.set(failing.id, { ...failing });
      reads.length = 0;
      mock.timers.tick(300_000);
      await until('the second run', async () => (reads.length > 0 ? true : undefined));
      await prefetcher.current;
      assert.deepEqual(reads, [failing.id]);
    } finally {
      stop();
    }
  } finally {
    mock.timers.reset();
  }
});
