/**
 * The scrubber's repository side (ImageRepository.markPendingDelete / recordDataDeleted and
 * ScrubQueue) on a real, migrated database of every engine (SQLite, PostgreSQL, MariaDB; see
 * test/persistence/test-engines.ts): the compare-and-swaps hold under concurrent callers.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, NotFound } from '../../src/domain/errors.js';
import { scheduleDelete, type Image } from '../../src/domain/image.js';
import type { ScrubQueue } from '../../src/domain/ports.js';
import { createScrubQueue } from '../../src/persistence/scrub-queue.js';
import { createTestDb, FIXED_NOW, makeImage, type TestDb } from '../persistence/sqlite-fixture.js';
import { testEngines } from '../persistence/test-engines.js';

const MIN = 60_000;
const at = (minutes: number) => new Date(FIXED_NOW.getTime() + minutes * MIN);

/** An active image with a location in each of `stores` (no data: the queue never reads it). */
function activeImage(stores: readonly string[], overrides: Partial<Image> = {}): Image {
  const image = makeImage({ status: 'active', disk_format: 'raw', container_format: 'bare', size: 4, ...overrides });
  return {
    ...image,
    locations: stores.map((store) => ({ url: `file:///stores/${store}/${image.id}`, metadata: { store }, status: 'active' as const })),
  };
}

for (const engine of await testEngines()) {
  describe(`scrub queue on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    let queue: ScrubQueue;
    before(async () => {
      t = await createTestDb(engine.server);
      queue = createScrubQueue(t.db, { engine: t.engine });
    });
    after(() => t.cleanup());
    beforeEach(async () => {
      for (const table of ['image_locations', 'image_properties', 'image_tags', 'image_members', 'images'] as const) {
        await t.db.deleteFrom(table).execute();
      }
    });

    async function pending(stores: readonly string[], deletedAt = at(0), overrides: Partial<Image> = {}): Promise<Image> {
      const image = activeImage(stores, overrides);
      await t.repo.add(image);
      await t.repo.markPendingDelete(scheduleDelete(image, { updated_at: deletedAt }), { fromStatus: 'active' });
      return image;
    }

    test('markPendingDelete hides the image, keeps its rows, and is a compare-and-swap', async () => {
      const image = await pending(['a', 'b'], at(0), { properties: { k: 'v' }, tags: ['t'] });
      assert.equal(await t.repo.get(image.id), null);
      assert.deepEqual(await t.repo.list({ scope: { project: null, isAdmin: true, memberStatus: 'all' }, filters: {}, sort: [], limit: 10 }), []);
      const hidden = await t.repo.get(image.id, { includeDeleted: true });
      assert.equal(hidden?.status, 'pending_delete');
      assert.deepEqual(hidden?.properties, { k: 'v' });
      assert.deepEqual(hidden?.tags, ['t']);
      assert.deepEqual(hidden?.locations.map((l) => [l.metadata.store, l.status]), [['a', 'pending_delete'], ['b', 'pending_delete']]);
      await assert.rejects(t.repo.add(activeImage([], { id: image.id })), Conflict, 'the id is not reused');
      assert.equal(await t.repo.usedStorage('project-a'), 8, 'its data still counts against the quota, as in Glance (4 bytes in two stores)');

      const other = activeImage(['a'], { status: 'deactivated' });
      await t.repo.add(other);
      await assert.rejects(
        t.repo.markPendingDelete({ ...other, status: 'pending_delete' }, { fromStatus: 'active' }),
        (e: unknown) => e instanceof Conflict && /cannot transition from deactivated/.test(e.message),
      );
      await assert.rejects(t.repo.markPendingDelete({ ...image, status: 'pending_delete' }, { fromStatus: 'active' }), NotFound);
    });

    test('due: pending locations once scrub_time has passed, orphans on request, in location order', async () => {
      const early = await pending(['a', 'b'], at(0));
      const late = await pending(['a'], at(30));
      const removed = activeImage(['b']);
      await t.repo.add(removed);
      await t.repo.remove(removed.id);
      const recorded = activeImage(['a']);
      await t.repo.add(recorded);
      await t.repo.remove(recorded.id);
      await t.repo.recordDataDeleted(recorded.id, recorded.locations[0]!.url);
      const me = { owner: 'aaaaaaaaaaaa-1', now: at(60) };

      const first = await queue.due({ scrubBefore: at(10), orphans: false, limit: 100 }, me);
      assert.deepEqual(first.map((j) => [j.imageId, j.store, j.kind]), [[early.id, 'a', 'pending_delete'], [early.id, 'b', 'pending_delete']]);
      const all = await queue.due({ scrubBefore: at(30), orphans: true, limit: 100 }, me);
      assert.deepEqual(all.map((j) => [j.imageId, j.kind]), [
        [early.id, 'pending_delete'],
        [early.id, 'pending_delete'],
        [late.id, 'pending_delete'],
        [removed.id, 'orphan'],
      ]);
      assert.equal(all[3]?.url, removed.locations[0]?.url);
      const paged = await queue.due({ scrubBefore: at(30), orphans: true, limit: 2, afterLocationId: all[1]!.locationId }, me);
      assert.deepEqual(paged.map((j) => j.locationId), [all[2]!.locationId, all[3]!.locationId]);
    });

    test('claims: one winner among concurrent claimers; finish and release only by the owner; takeover when run out or dead', async () => {
      const image = await pending(['a']);
      const now = at(60);
      const [job] = await queue.due({ scrubBefore: now, orphans: false, limit: 1 }, { owner: 'x', now });
      assert.ok(job);
      const owners = Array.from({ length: 8 }, (_, i) => `aaaaaaaaaaaa-${i + 1}`);
      const won = await Promise.all(owners.map((owner) => queue.claim(job, at(70), { owner, now })));
      assert.equal(won.filter(Boolean).length, 1, 'exactly one claim wins');
      const winner = owners[won.indexOf(true)]!;
      assert.deepEqual(await queue.claimOwners(), [winner]);
      assert.deepEqual(await queue.due({ scrubBefore: now, orphans: true, limit: 10 }, { owner: 'other', now }), [], 'claimed: not due for others');
      assert.equal(await queue.finish(job, { owner: 'other', now }), false);
      await queue.release(job, { owner: 'other', now });
      assert.deepEqual(await queue.claimOwners(), [winner], 'release by another owner does nothing');

      assert.equal(await queue.claim(job, at(90), { owner: 'late', now: at(69) }), false, 'live claim');
      assert.equal(await queue.claim(job, at(90), { owner: 'late', now: at(69), deadOwners: [winner] }), true, 'dead owner');
      assert.equal(await queue.claim(job, at(100), { owner: 'later', now: at(90) }), true, 'run out');
      assert.equal(await queue.finish(job, { owner: 'late', now: at(91) }), false, 'a lost claim cannot finish');
      assert.equal(await queue.finish(job, { owner: 'later', now: at(91) }), true);
      assert.equal(await queue.claim(job, at(200), { owner: 'again', now: at(100) }), false, 'done: nothing to claim');
      assert.deepEqual(await queue.completeScrubbed(at(92)), [image.id]);
      assert.deepEqual(await queue.completeScrubbed(at(93)), [], 'once');
      const done = await t.repo.get(image.id, { includeDeleted: true });
      assert.equal(done?.status, 'deleted');
      assert.deepEqual(done?.locations.map((l) => l.status), ['deleted']);
    });

    test('completeScrubbed waits for every location, and drops properties, tags and memberships then', async () => {
      const image = await pending(['a', 'b'], at(0), { properties: { k: 'v' }, tags: ['t'] });
      await t.db.insertInto('image_members').values({ image_id: image.id, member: 'p2', status: 'accepted', created_at: 0, updated_at: 0 }).execute();
      const now = at(60);
      const me = { owner: 'aaaaaaaaaaaa-1', now };
      const [a, b] = await queue.due({ scrubBefore: now, orphans: false, limit: 10 }, me);
      assert.ok(a && b && (await queue.claim(a, at(70), me)) && (await queue.finish(a, me)));
      assert.deepEqual(await queue.completeScrubbed(now), [], 'b still waits');
      assert.ok((await queue.claim(b, at(70), me)) && (await queue.finish(b, me)));
      assert.deepEqual(await queue.completeScrubbed(now), [image.id]);
      assert.equal((await t.db.selectFrom('image_properties').selectAll().where('image_id', '=', image.id).execute()).length, 0);
      assert.equal((await t.db.selectFrom('image_tags').selectAll().where('image_id', '=', image.id).execute()).length, 0);
      const members = await t.db.selectFrom('image_members').select('deleted').where('image_id', '=', image.id).execute();
      assert.deepEqual(members.map((m) => m.deleted), [1]);
    });

    test("restore: Glance's errors, locations back to active, refused once a scrubber has claimed data", async () => {
      const image = await pending(['a', 'b']);
      await queue.restore(image.id, at(5));
      const back = await t.repo.get(image.id);
      assert.equal(back?.status, 'active');
      assert.deepEqual(back?.locations.map((l) => l.status), ['active', 'active']);
      await assert.rejects(queue.restore(image.id, at(6)), {
        message: 'cannot restore the image from active to active (wanted from_state=pending_delete)',
      });
      await assert.rejects(queue.restore('10000000-0000-4000-8000-00000000dead', at(6)), {
        message: 'No image found with ID 10000000-0000-4000-8000-00000000dead',
      });

      // A restore racing a claim: exactly one of them wins, every time.
      for (let round = 0; round < 5; round++) {
        const raced = await pending(['a']);
        const now = at(60);
        const job = (await queue.due({ scrubBefore: now, orphans: false, limit: 100 }, { owner: 'x', now })).find((j) => j.imageId === raced.id);
        assert.ok(job);
        const [restored, claimed] = await Promise.allSettled([queue.restore(raced.id, now), queue.claim(job, at(70), { owner: 'scrubber', now })]);
        const claimWon = claimed.status === 'fulfilled' && claimed.value;
        assert.equal(restored.status === 'fulfilled', !claimWon, `round ${round}: restore ${restored.status}, claim ${String(claimWon)}`);
        if (restored.status === 'rejected') assert.ok(restored.reason instanceof Conflict);
        const status = (await t.repo.get(raced.id, { includeDeleted: true }))?.status;
        assert.equal(status, claimWon ? 'pending_delete' : 'active');
        if (claimWon) await queue.release(job, { owner: 'scrubber', now });
      }
    });
  });
}
