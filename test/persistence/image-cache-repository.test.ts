/**
 * The image cache records (migration 005-image-cache, src/persistence/image-cache-repository.ts)
 * on a real, migrated database of every engine (test-engines.ts): per-node records, LRU order,
 * the queue, and which entries the cleaner must drop.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheRecord, CacheRecords } from '../../src/cache/cache-records.js';
import { createCacheRecordRepository } from '../../src/persistence/image-cache-repository.js';
import { currentRevision, migrateToLatest, MIGRATIONS } from '../../src/persistence/migrator.js';
import { createTestDb, makeImage, type TestDb } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const NODE_A = 'http://node-a:9292';
const NODE_B = 'http://node-b:9292';

function record(imageId: string, overrides: Partial<CacheRecord> = {}): CacheRecord {
  return { imageId, size: 10, checksum: 'c'.repeat(32), osHashValue: 'h'.repeat(128), crc32: 4294967295, hits: 0, lastAccessed: 1000, lastModified: 1000, ...overrides };
}

for (const engine of await testEngines()) {
  describe(`image cache records on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    let records: CacheRecords;
    before(async () => {
      t = await createTestDb(engine.server);
      records = createCacheRecordRepository(t.db);
    });
    after(async () => {
      await t.cleanup();
    });
    beforeEach(async () => {
      await t.db.deleteFrom('cached_images').execute();
      await t.db.deleteFrom('cache_queue').execute();
    });

    test('migration 005 is applied, and migrating again is a no-op', async () => {
      const names = MIGRATIONS.map(([name]) => name);
      assert.ok(names.includes('005-image-cache'));
      assert.equal(await currentRevision(t.db), names.at(-1));
      assert.equal(await migrateToLatest(t.db, t.engine), names.at(-1));
    });

    test('records are per node; add replaces; touch counts hits and moves the LRU order', async () => {
      await records.addCached(NODE_A, record('i1', { lastAccessed: 1000 }));
      await records.addCached(NODE_A, record('i2', { lastAccessed: 2000, size: 5 }));
      await records.addCached(NODE_B, record('i1', { size: 99 }));
      assert.deepEqual((await records.listCached(NODE_A)).map((r) => r.imageId), ['i1', 'i2']);
      assert.equal(await records.totalSize(NODE_A), 15);
      assert.equal(await records.totalSize(NODE_B), 99);
      assert.equal(await records.totalSize('http://nobody'), 0);
      assert.deepEqual((await records.leastRecentlyUsed(NODE_A, 1)).map((r) => r.imageId), ['i1']);
      await records.touch(NODE_A, 'i1', 3000);
      assert.deepEqual(await records.getCached(NODE_A, 'i1'), record('i1', { hits: 1, lastAccessed: 3000 }));
      assert.deepEqual((await records.leastRecentlyUsed(NODE_A, 2)).map((r) => r.imageId), ['i2', 'i1']);
      await records.addCached(NODE_A, record('i2', { size: 7, lastAccessed: 4000 }));
      assert.equal((await records.getCached(NODE_A, 'i2'))?.size, 7, 'replaced, not duplicated');
      assert.equal(await records.removeCached(NODE_A, 'i2'), true);
      assert.equal(await records.removeCached(NODE_A, 'i2'), false);
      assert.equal(await records.removeAllCached(NODE_A), 1);
      assert.equal((await records.listCached(NODE_B)).length, 1, "another node's records are untouched");
    });

    test('the queue keeps order, refuses duplicates and is per node', async () => {
      assert.equal(await records.queue(NODE_A, 'q2', 2000), true);
      assert.equal(await records.queue(NODE_A, 'q1', 1000), true);
      assert.equal(await records.queue(NODE_A, 'q1', 3000), false);
      assert.equal(await records.queue(NODE_B, 'q1', 1000), true);
      assert.deepEqual(await records.listQueued(NODE_A), ['q1', 'q2']);
      assert.equal(await records.dequeue(NODE_A, 'q1'), true);
      assert.equal(await records.dequeue(NODE_A, 'q1'), false);
      assert.equal(await records.clearQueue(NODE_A), 1);
      assert.deepEqual(await records.listQueued(NODE_B), ['q1']);
    });

    test('invalidCached: entries of images gone, inactive or with other checksums', async () => {
      const sums = { checksum: 'c'.repeat(32), os_hash_algo: 'sha512', os_hash_value: 'h'.repeat(128), size: 10 };
      const ok = makeImage({ status: 'active', ...sums });
      const changed = makeImage({ status: 'active', ...sums, checksum: 'd'.repeat(32) });
      const inactive = makeImage({ status: 'deactivated', ...sums });
      const deleted = makeImage({ status: 'active', ...sums });
      for (const image of [ok, changed, inactive, deleted]) {
        await t.repo.add(image);
        await records.addCached(NODE_A, record(image.id));
      }
      await t.repo.remove(deleted.id);
      await records.addCached(NODE_A, record('never-existed'));
      const invalid = await records.invalidCached(NODE_A);
      assert.deepEqual(invalid, [changed.id, inactive.id, deleted.id, 'never-existed'].sort());
      assert.deepEqual(await records.invalidCached(NODE_B), []);
    });
  });
}
