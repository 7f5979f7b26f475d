/**
 * The import lock over real SQLite repositories, with an injected clock and node:test's mock
 * timers (no sleeping): a lock holds while its task's lease is live, then the task is taken
 * over (failed, its image recovered) and the lock dropped; a lock whose task is gone or
 * finished is busted at once; the heartbeat renews the lease each interval, keeps the lock
 * past many leases, and stops when told; a lease taken by another node stops the import.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Conflict } from '../../domain/errors.js';
import type { Image } from '../../domain/image.js';
import type { BlobStore } from '../../domain/ports.js';
import type { Task, TaskStatus } from '../../domain/task.js';
import { openDatabase } from '../../persistence/database.js';
import { createImageRepository } from '../../persistence/image-repository.js';
import { migrateToLatest } from '../../persistence/migrator.js';
import { createTaskRepository } from '../../persistence/task-repository.js';
import { createImportLock } from './import-lock.js';
import { createTaskLeases } from './task-lease.js';

const MINUTE = 60_000;
const LEASE_MS = 5 * MINUTE;
let root: string;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'iris-import-lock-'));
});
after(async () => {
  for (const close of closers) await close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh database with one queued image, and a lock over it driven by a settable clock. */
async function setup(name: string) {
  const database = openDatabase({ sqlitePath: join(root, `${name}.sqlite`) });
  closers.push(database.close);
  await migrateToLatest(database.db);
  const clock = { at: new Date('2026-01-01T00:00:00Z'), now: () => clock.at };
  const images = createImageRepository(database.db, { clock });
  const tasks = createTaskRepository(database.db);
  const reported: string[] = [];
  const onError = (message: string): void => {
    reported.push(message);
  };
  const blobs = { delete: async () => undefined } as unknown as BlobStore;
  const leases = createTaskLeases({
    tasks, images, blobs, clock, owner: 'aaaaaaaaaaaa-1', leaseMs: LEASE_MS, taskTimeToLiveHours: 48,
    isDeadOwner: () => false, dropStaging: async () => undefined, onError,
  });
  const lock = createImportLock({ images, tasks, clock, leases, onError });
  const id = `bbbbbbbb-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const start = clock.now();
  await images.add({
    id, name, status: 'queued', visibility: 'shared', protected: false, os_hidden: false,
    disk_format: 'raw', container_format: 'bare', size: null, virtual_size: null, checksum: null,
    os_hash_algo: null, os_hash_value: null, min_ram: 0, min_disk: 0, owner: 'p', created_at: start,
    updated_at: start, deleted_at: null, tags: [], properties: {}, locations: [],
  } as Image);

  /** Records a task in `status` leased by this process and gives it the lock, as an import request does. */
  async function lockedBy(status: TaskStatus): Promise<Task> {
    const task: Task = {
      id: `cccccccc-0000-4000-8000-${String(++n).padStart(12, '0')}`,
      type: 'api_image_import', status, owner: 'p', image_id: id, request_id: null, user_id: null,
      expires_at: null, created_at: clock.now(), updated_at: clock.now(),
      input: { image_id: id, import_req: {}, backend: [null] }, result: null, message: '',
      lease: leases.leaseFrom(clock.now()),
    };
    await tasks.add(task);
    await lock.acquire(id, task.id);
    return task;
  }
  const image = async (): Promise<Image> => (await images.get(id))!;
  const advance = (ms: number): void => {
    clock.at = new Date(clock.at.getTime() + ms);
  };
  return { lock, leases, tasks, images, id, image, lockedBy, advance, clock, reported };
}

const activeTask = (e: unknown): boolean => e instanceof Conflict && e.message === 'Image has active task';

test('an unfinished task holds its lock while its lease lasts; then it is taken over: failed, image recovered, lock dropped', async () => {
  const { lock, tasks, images, id, image, lockedBy, advance, reported } = await setup('processing');
  const task = await lockedBy('processing');
  // The import had marked the image, as the runner does.
  const before = await image();
  await images.save({ ...before, status: 'importing', properties: { ...before.properties, os_glance_importing_to_stores: '' } }, { previous: before, fromStatus: 'queued' });
  advance(LEASE_MS - 1);
  await assert.rejects(lock.checkFree(await image()), activeTask);
  assert.equal((await image()).properties.os_glance_import_task, task.id);

  advance(1);
  const busted = await lock.checkFree(await image());
  assert.equal(busted?.id, task.id);
  const after = await image();
  assert.equal(after.properties.os_glance_import_task, undefined, 'lock dropped');
  assert.equal(after.status, 'queued', 'image recovered as at restart');
  const failed = (await tasks.get(task.id))!;
  assert.equal(failed.status, 'failure');
  assert.equal(failed.message, 'Expired lock preempted');
  assert.ok(failed.expires_at !== null, 'a finished task gets its time to live');
  assert.deepEqual(reported, []);
  assert.equal(id, after.id);
});

test('a pending task holds its lock for its lease too', async () => {
  const { lock, tasks, image, lockedBy, advance } = await setup('pending');
  const task = await lockedBy('pending');
  advance(LEASE_MS - 1);
  await assert.rejects(lock.checkFree(await image()), activeTask);
  advance(1);
  assert.equal((await lock.checkFree(await image()))?.id, task.id);
  assert.equal((await tasks.get(task.id))!.status, 'failure');
});

test('the lock of a finished task is dropped at once without touching the task', async () => {
  const { lock, tasks, image, lockedBy } = await setup('finished');
  const task = await lockedBy('processing');
  await tasks.save({ ...task, status: 'success', message: 'Copied 0 MiB' }, { fromStatus: 'processing' });
  assert.equal((await lock.checkFree(await image()))?.id, task.id);
  assert.equal((await image()).properties.os_glance_import_task, undefined);
  const after = (await tasks.get(task.id))!;
  assert.equal(after.status, 'success');
  assert.equal(after.message, 'Copied 0 MiB');
});

test('a lock whose task does not exist is busted at once; no lock is undefined', async () => {
  const { lock, images, id, image } = await setup('orphan');
  assert.equal(await lock.checkFree(await image()), undefined);
  await images.setPropertyAtomic(id, 'os_glance_import_task', 'dddddddd-0000-4000-8000-000000000000');
  assert.equal(await lock.checkFree(await image()), null);
  assert.equal((await image()).properties.os_glance_import_task, undefined);
});

test('a second acquire is refused with Glance message; release only drops the holder', async () => {
  const { lock, id, image, lockedBy } = await setup('acquire');
  const task = await lockedBy('pending');
  await assert.rejects(
    lock.acquire(id, 'someone-else'),
    (e: unknown) => e instanceof Conflict && e.message === `New operation on image '${id}' is not permitted as prior operation is still in progress`,
  );
  await lock.release(id, 'someone-else');
  assert.equal((await image()).properties.os_glance_import_task, task.id);
  await lock.release(id, task.id);
  assert.equal((await image()).properties.os_glance_import_task, undefined);
});

test('the heartbeat renews the lease each interval, keeps the lock past many leases, and stops', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { lock, leases, tasks, image, lockedBy, advance, clock, reported } = await setup('heartbeat');
    const task = await lockedBy('processing');
    let lost = 0;
    const stop = lock.keepAlive(task, () => (lost += 1));
    for (let beat = 1; beat <= 20; beat++) {
      advance(leases.heartbeatMs);
      mock.timers.tick(leases.heartbeatMs);
      const expected = clock.at.getTime() + LEASE_MS;
      while ((await tasks.get(task.id))!.lease?.expires_at.getTime() !== expected) await tick();
    }
    // Five leases after the task started: still held, and no sweep takes it.
    await assert.rejects(lock.checkFree(await image()), activeTask);
    assert.deepEqual(await leases.sweep(), []);

    stop();
    const last = (await tasks.get(task.id))!.lease!.expires_at.getTime();
    advance(leases.heartbeatMs);
    mock.timers.tick(leases.heartbeatMs);
    await tick();
    assert.equal((await tasks.get(task.id))!.lease!.expires_at.getTime(), last, 'no beat after stop');
    advance(LEASE_MS);
    assert.equal((await lock.checkFree(await image()))?.id, task.id, 'without a heartbeat the lease ends');
    assert.equal(lost, 0);
    assert.deepEqual(reported, []);
  } finally {
    mock.timers.reset();
  }
});

test('a heartbeat that finds its task taken over by another node calls onLost once and stops', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { lock, leases, tasks, lockedBy, advance, clock, reported } = await setup('lost');
    const task = await lockedBy('processing');
    let lost = 0;
    const stop = lock.keepAlive(task, () => (lost += 1));
    // Another node's sweep, after this one failed to renew in time (a long pause).
    advance(LEASE_MS);
    const [taken] = await leases.sweep();
    assert.equal(taken?.id, task.id);
    mock.timers.tick(leases.heartbeatMs);
    while (lost === 0) await tick();
    mock.timers.tick(leases.heartbeatMs * 4);
    await tick();
    assert.equal(lost, 1);
    assert.equal((await tasks.get(task.id))!.status, 'failure');
    assert.ok(clock.at.getTime() > 0);
    stop();
    assert.deepEqual(reported, []);
  } finally {
    mock.timers.reset();
  }
});
