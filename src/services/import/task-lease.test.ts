/**
 * Task leases over a real SQLite database, with an injected clock and node:test's mock timers
 * (no sleeping): start-up recovery fails the tasks of this host's dead processes at once and
 * other tasks only once their lease ended, never a live node's; every failed task's image is
 * returned to a consistent state as at restart; the periodic sweep takes over a task as soon
 * as its lease ends, and stops when told.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import type { Image } from '../../domain/image.js';
import type { BlobStore } from '../../domain/ports.js';
import type { Task } from '../../domain/task.js';
import { openDatabase } from '../../persistence/database.js';
import { createImageRepository } from '../../persistence/image-repository.js';
import { migrateToLatest } from '../../persistence/migrator.js';
import { createTaskRepository } from '../../persistence/task-repository.js';
import { createTaskLeases, LEASE_MESSAGE, RESTART_MESSAGE } from './task-lease.js';

const MINUTE = 60_000;
const LEASE_MS = 5 * MINUTE;
const SELF = 'aaaaaaaaaaaa-100';
const DEAD = 'aaaaaaaaaaaa-200';
const OTHER_NODE = 'bbbbbbbbbbbb-300';

let root: string;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'iris-task-lease-'));
});
after(async () => {
  for (const close of closers) await close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function setup(name: string) {
  const database = openDatabase({ sqlitePath: join(root, `${name}.sqlite`) });
  closers.push(database.close);
  await migrateToLatest(database.db);
  const clock = { at: new Date('2026-01-01T00:00:00Z'), now: () => clock.at };
  const images = createImageRepository(database.db, { clock });
  const tasks = createTaskRepository(database.db);
  const deleted: string[] = [];
  const dropped: string[] = [];
  const reported: string[] = [];
  const takeOvers: string[] = [];
  const leases = createTaskLeases({
    tasks,
    images,
    blobs: { delete: async (url: string) => void deleted.push(url) } as unknown as BlobStore,
    clock,
    owner: SELF,
    leaseMs: LEASE_MS,
    taskTimeToLiveHours: 48,
    isDeadOwner: (owner) => owner === DEAD,
    dropStaging: async (id) => void dropped.push(id),
    onError: (message) => void reported.push(message),
    onTakeOver: (reason, failed) => void takeOvers.push(...failed.map((t) => `${reason}: ${t.id}`)),
  });

  /** An image importing (web-download into store `local`) under a task leased by `owner`. */
  async function importing(owner: string, leaseLeftMs: number): Promise<{ image: string; task: string }> {
    const id = `bbbbbbbb-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const taskId = `cccccccc-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const now = clock.now();
    await images.add({
      id, name, status: 'importing', visibility: 'shared', protected: false, os_hidden: false,
      disk_format: 'raw', container_format: 'bare', size: null, virtual_size: null, checksum: null,
      os_hash_algo: null, os_hash_value: null, min_ram: 0, min_disk: 0, owner: 'p', created_at: now,
      updated_at: now, deleted_at: null, tags: [],
      properties: { os_glance_import_task: taskId, os_glance_importing_to_stores: 'local', os_glance_failed_import: '' },
      locations: [{ url: `file:///store/${id}`, metadata: { store: 'local' }, status: 'active' }],
    } as Image);
    const task: Task = {
      id: taskId, type: 'api_image_import', status: 'processing', owner: 'p', image_id: id, request_id: null,
      user_id: null, expires_at: null, created_at: now, updated_at: now,
      input: { image_id: id, import_req: { method: { name: 'web-download' } }, backend: ['local'] }, result: null, message: '',
      lease: { owner, expires_at: new Date(now.getTime() + leaseLeftMs) },
    };
    await tasks.add(task);
    return { image: id, task: taskId };
  }
  const advance = (ms: number): void => {
    clock.at = new Date(clock.at.getTime() + ms);
  };
  return { leases, images, tasks, importing, advance, deleted, dropped, reported, takeOvers };
}

test('start-up recovery: a dead local process\'s task at once, an ended lease, never a live lease', async () => {
  const { leases, images, tasks, importing, deleted, dropped, reported, takeOvers } = await setup('start');
  const ofDead = await importing(DEAD, LEASE_MS);
  const liveElsewhere = await importing(OTHER_NODE, LEASE_MS);
  const endedElsewhere = await importing(OTHER_NODE, 0);
  const mineLive = await importing(SELF, LEASE_MS);

  const failed = await leases.recoverAtStart();
  assert.deepEqual(failed.map((t) => [t.id, t.message]), [
    [ofDead.task, RESTART_MESSAGE],
    [endedElsewhere.task, LEASE_MESSAGE],
  ]);
  for (const { image, task } of [ofDead, endedElsewhere]) {
    const recovered = (await images.get(image))!;
    assert.equal(recovered.status, 'queued');
    assert.deepEqual(recovered.locations, []);
    assert.equal(recovered.properties.os_glance_import_task, undefined);
    assert.equal(recovered.properties.os_glance_importing_to_stores, '');
    assert.equal(recovered.properties.os_glance_failed_import, 'local');
    assert.equal((await tasks.get(task))!.status, 'failure');
    assert.ok(deleted.includes(`file:///store/${image}`), 'its partial copy is deleted');
    assert.ok(dropped.includes(image), 'its staged data is dropped');
  }
  for (const { image, task } of [liveElsewhere, mineLive]) {
    assert.equal((await tasks.get(task))!.status, 'processing');
    const untouched = (await images.get(image))!;
    assert.equal(untouched.status, 'importing');
    assert.equal(untouched.properties.os_glance_import_task, task);
  }
  assert.equal(takeOvers.length, 2);
  assert.deepEqual(reported, []);
});

test('the sweep takes a task over once its lease ends, at its interval, and stops when told', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { leases, images, tasks, importing, advance, reported } = await setup('sweep');
    const elsewhere = await importing(OTHER_NODE, LEASE_MS);
    const stop = leases.startSweeping();
    advance(LEASE_MS - 1);
    mock.timers.tick(leases.sweepMs);
    for (let i = 0; i < 20; i++) await tick();
    assert.equal((await tasks.get(elsewhere.task))!.status, 'processing', 'not before its lease ended');

    advance(1);
    mock.timers.tick(leases.sweepMs);
    // The task fails first, then its image is recovered: wait for the latter.
    while ((await images.get(elsewhere.image))!.status !== 'queued') await tick();
    assert.equal((await tasks.get(elsewhere.task))!.status, 'failure');
    assert.equal((await tasks.get(elsewhere.task))!.message, LEASE_MESSAGE);

    stop();
    const later = await importing(OTHER_NODE, 0);
    mock.timers.tick(leases.sweepMs * 4);
    for (let i = 0; i < 20; i++) await tick();
    assert.equal((await tasks.get(later.task))!.status, 'processing', 'no sweep after stop');
    assert.deepEqual(reported, []);
  } finally {
    mock.timers.reset();
  }
});
