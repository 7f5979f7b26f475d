/**
 * The scrubber in-process on a real SQLite file and two real filesystem stores (multi-store),
 * with a fake clock: delayed delete → pending_delete → nothing before scrub_time → data gone in
 * both stores and the image deleted after; restore; two scrubbers at once delete each location
 * once; claims of others; failures retried; the orphan sweep.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conflict, NotFound } from '../../src/domain/errors.js';
import type { BlobStore, ImageRepository, ScrubQueue } from '../../src/domain/ports.js';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { migrateToLatest } from '../../src/persistence/migrator.js';
import { createScrubQueue } from '../../src/persistence/scrub-queue.js';
import { createScrubber, type ScrubberDeps, type ScrubLog } from '../../src/services/scrubber.js';
import { countingDeletes, dataExists, deleteLater, imageWithData, settableClock, twoFileStores } from './scrub-fixture.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Collects the scrubber's log lines; an error line fails the test unless expected. */
function recordingLog(): ScrubLog & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

let dir: string;
let database: Database;
let blobs: BlobStore;
let deletes: Map<string, number>;
let clock: ReturnType<typeof settableClock>;
let images: ImageRepository;
let queue: ScrubQueue;
let log: ReturnType<typeof recordingLog>;

function scrubber(overrides: Partial<ScrubberDeps> = {}) {
  return createScrubber({
    queue,
    blobs,
    clock,
    owner: 'aaaaaaaaaaaa-1',
    isDeadOwner: () => false,
    scrubTimeSeconds: 3600,
    poolSize: 2,
    claimMs: 10 * MIN,
    log,
    ...overrides,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iris-scrub-'));
  database = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
  await migrateToLatest(database.db, database.engine);
});
after(async () => {
  await database.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  // A fresh set of tables' rows and stores per test; the schema stays.
  for (const table of ['image_locations', 'image_properties', 'image_tags', 'image_members', 'images'] as const) {
    await database.db.deleteFrom(table).execute();
  }
  clock = settableClock(T0);
  const counted = countingDeletes(twoFileStores(join(dir, `stores-${Math.random().toString(16).slice(2)}`)));
  blobs = counted.blobs;
  deletes = counted.deletes;
  images = createImageRepository(database.db, { clock, engine: database.engine });
  queue = createScrubQueue(database.db, { engine: database.engine });
  log = recordingLog();
});

describe('delayed delete and the scrubber', () => {
  test('pending_delete keeps the data until scrub_time has passed, then it goes from both stores and the image is deleted', async () => {
    const image = await imageWithData(images, blobs, ['a', 'b'], T0, { properties: { os_distro: 'cirros' }, tags: ['boot'] });
    assert.equal(image.locations.length, 2);
    await deleteLater(images, image, T0);
    assert.equal(await images.get(image.id), null, 'hidden like a deleted image');
    const hidden = await images.get(image.id, { includeDeleted: true });
    assert.equal(hidden?.status, 'pending_delete');
    assert.deepEqual(hidden?.locations.map((l) => l.status), ['pending_delete', 'pending_delete']);
    assert.deepEqual(hidden?.properties, { os_distro: 'cirros' }, 'kept for a restore');

    clock.set(new Date(T0.getTime() + 59 * MIN));
    const early = await scrubber().runOnce();
    assert.deepEqual(early, { imagesDeleted: [], locationsScrubbed: 0, orphansSwept: 0, failures: 0 });
    assert.equal(deletes.size, 0);
    for (const l of image.locations) assert.ok(dataExists(l.url), 'data kept before scrub_time');

    clock.set(new Date(T0.getTime() + HOUR));
    const report = await scrubber().runOnce();
    assert.deepEqual(report, { imagesDeleted: [image.id], locationsScrubbed: 2, orphansSwept: 0, failures: 0 });
    for (const l of image.locations) {
      assert.equal(dataExists(l.url), false, `data gone from ${String(l.metadata.store)}`);
      assert.equal(deletes.get(l.url), 1);
    }
    const gone = await images.get(image.id, { includeDeleted: true });
    assert.equal(gone?.status, 'deleted');
    assert.deepEqual(gone?.properties, {});
    assert.deepEqual(gone?.locations.map((l) => l.status), ['deleted', 'deleted']);
    await assert.rejects(scrubber().restore(image.id), (e: unknown) => {
      assert.ok(e instanceof Conflict);
      assert.equal(e.message, 'cannot restore the image from deleted to active (wanted from_state=pending_delete)');
      return true;
    });

    const again = await scrubber().runOnce();
    assert.deepEqual(again, { imagesDeleted: [], locationsScrubbed: 0, orphansSwept: 0, failures: 0 }, 'nothing twice');
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 0);
  });

  test('restore brings a pending_delete image back to active with its data, properties and tags; errors as glance-scrubber', async () => {
    const image = await imageWithData(images, blobs, ['a', 'b'], T0, { properties: { k: 'v' }, tags: ['t'] });
    await deleteLater(images, image, T0);
    clock.set(new Date(T0.getTime() + 5 * MIN));
    await scrubber().restore(image.id);
    const back = await images.get(image.id);
    assert.equal(back?.status, 'active');
    assert.deepEqual(back?.locations.map((l) => l.status), ['active', 'active']);
    assert.deepEqual(back?.properties, { k: 'v' });
    assert.deepEqual(back?.tags, ['t']);
    clock.set(new Date(T0.getTime() + 2 * HOUR));
    assert.equal((await scrubber().runOnce()).locationsScrubbed, 0, 'a restored image is not scrubbed');
    for (const l of image.locations) assert.ok(dataExists(l.url));

    await assert.rejects(scrubber().restore(image.id), (e: unknown) => {
      assert.ok(e instanceof Conflict);
      assert.equal(e.message, 'cannot restore the image from active to active (wanted from_state=pending_delete)');
      return true;
    });
    const unknown = '10000000-0000-4000-8000-000000000999';
    await assert.rejects(scrubber().restore(unknown), (e: unknown) => {
      assert.ok(e instanceof NotFound);
      assert.equal(e.message, `No image found with ID ${unknown}`);
      return true;
    });
  });

  test('a restore refuses an image whose data a scrubber has begun to delete', async () => {
    const image = await imageWithData(images, blobs, ['a', 'b'], T0);
    await deleteLater(images, image, T0);
    const now = new Date(T0.getTime() + HOUR);
    const other = { owner: 'bbbbbbbbbbbb-2', now };
    const [job] = await queue.due({ scrubBefore: now, orphans: false, limit: 10 }, other);
    assert.ok(job !== undefined && (await queue.claim(job, new Date(now.getTime() + MIN), other)));
    await assert.rejects(queue.restore(image.id, now), /a scrubber has begun deleting its data/);
    assert.equal((await images.get(image.id, { includeDeleted: true }))?.status, 'pending_delete', 'rolled back');
  });

  test('two scrubbers at once (two connections to one SQLite file) delete every location exactly once', async () => {
    const all = [];
    for (let i = 0; i < 12; i++) all.push(await imageWithData(images, blobs, ['a', 'b'], T0));
    for (const image of all) await deleteLater(images, image, T0);
    clock.set(new Date(T0.getTime() + HOUR));
    const second = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
    try {
      const one = scrubber({ owner: 'aaaaaaaaaaaa-1', poolSize: 3 });
      const two = scrubber({ owner: 'aaaaaaaaaaaa-2', poolSize: 3, queue: createScrubQueue(second.db, { engine: second.engine }) });
      const [r1, r2] = await Promise.all([one.runOnce(), two.runOnce()]);
      assert.equal(r1.locationsScrubbed + r2.locationsScrubbed, 24);
      assert.equal(r1.failures + r2.failures, 0);
      assert.deepEqual([...r1.imagesDeleted, ...r2.imagesDeleted].sort(), all.map((i) => i.id).sort());
    } finally {
      await second.close();
    }
    assert.equal(deletes.size, 24);
    for (const [url, n] of deletes) {
      assert.equal(n, 1, `${url} deleted once`);
      assert.equal(dataExists(url), false);
    }
  });

  test("another scrubber's live claim is left alone; once it runs out, or its owner is dead, it is taken over", async () => {
    const image = await imageWithData(images, blobs, ['a'], T0);
    await deleteLater(images, image, T0);
    const now = new Date(T0.getTime() + HOUR);
    const other = { owner: 'cccccccccccc-3', now };
    const [job] = await queue.due({ scrubBefore: now, orphans: false, limit: 10 }, other);
    assert.ok(job !== undefined && (await queue.claim(job, new Date(now.getTime() + 10 * MIN), other)));
    clock.set(new Date(now.getTime() + 9 * MIN));
    assert.equal((await scrubber().runOnce()).locationsScrubbed, 0, 'claim still live');
    assert.deepEqual(await queue.claimOwners(), ['cccccccccccc-3']);
    const dead = await scrubber({ isDeadOwner: (o) => o === 'cccccccccccc-3' }).runOnce();
    assert.deepEqual(dead.imagesDeleted, [image.id], "a dead process's claim is taken over at once");
    assert.deepEqual(await queue.claimOwners(), []);
    assert.equal(await queue.finish(job, other), false, 'the first owner lost its claim');
  });

  test('a failed delete leaves the image pending_delete with its claim released; the next run finishes it', async () => {
    const image = await imageWithData(images, blobs, ['a', 'b'], T0);
    await deleteLater(images, image, T0);
    clock.set(new Date(T0.getTime() + HOUR));
    const failing: BlobStore = Object.assign(Object.create(blobs) as BlobStore, {
      async delete(location: string, store?: string | null) {
        if (store === 'b') throw new Error('store b is down');
        return blobs.delete(location, store);
      },
    });
    const first = await scrubber({ blobs: failing }).runOnce();
    assert.deepEqual(first, { imagesDeleted: [], locationsScrubbed: 1, orphansSwept: 0, failures: 1 });
    const errors = log.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.fields.image, image.id, 'the failure names the image');
    assert.equal((await images.get(image.id, { includeDeleted: true }))?.status, 'pending_delete');
    assert.deepEqual(await queue.claimOwners(), []);
    const second = await scrubber().runOnce();
    assert.deepEqual(second, { imagesDeleted: [image.id], locationsScrubbed: 1, orphansSwept: 0, failures: 0 });
    for (const l of image.locations) assert.equal(dataExists(l.url), false);
  });

  test('orphan sweep: the data of an image deleted at once that stayed behind is deleted and recorded, once; data already gone is fine', async () => {
    const orphaned = await imageWithData(images, blobs, ['a', 'b'], T0);
    const alreadyGone = await imageWithData(images, blobs, ['a'], T0);
    const clean = await imageWithData(images, blobs, ['b'], T0);
    // An immediate delete whose data delete never happened (a crash between row and data).
    await images.remove(orphaned.id);
    // One whose data went but was never recorded (deleted before this release).
    await images.remove(alreadyGone.id);
    await blobs.delete(alreadyGone.locations[0]!.url, 'a');
    // One deleted the way the image service does it now: data deleted, then recorded.
    await images.remove(clean.id);
    await blobs.delete(clean.locations[0]!.url, 'b');
    await images.recordDataDeleted(clean.id, clean.locations[0]!.url);
    deletes.clear();

    const report = await scrubber({ scrubTimeSeconds: 0 }).runOnce();
    assert.deepEqual(report, { imagesDeleted: [], locationsScrubbed: 0, orphansSwept: 3, failures: 0 });
    for (const l of orphaned.locations) assert.equal(dataExists(l.url), false);
    assert.equal(deletes.get(clean.locations[0]!.url), undefined, 'recorded data is not visited');
    const rows = await database.db.selectFrom('image_locations').select(['image_id', 'scrubbed_at']).execute();
    assert.ok(rows.every((r) => r.scrubbed_at !== null), 'every sweep recorded');
    const again = await scrubber({ scrubTimeSeconds: 0 }).runOnce();
    assert.equal(again.orphansSwept, 0, 'idempotent: nothing the second time');
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 0);
  });
});
