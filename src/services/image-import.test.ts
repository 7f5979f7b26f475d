/**
 * The import service over real SQLite repositories and filesystem stores:
 * - a copy-image whose single copy outlasts many task leases keeps its lock: the running
 *   task's heartbeat renews its lease, so a second import is refused and no sweep takes the
 *   task over (mocked interval timer, injected clock, no sleeping);
 * - a copy-image whose node stops renewing (another node's view: its heartbeat never runs) is
 *   failed by the sweep once its lease ended, the image keeps its old copy and loses the lock,
 *   and the import of the stopped process, should it wake up, aborts without touching the image;
 * - clean-up failures (staged data, the lock) are reported with the image id, not swallowed.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { createBlobStore } from '../blob/blob-store.js';
import { createFilesystemDriver } from '../blob/drivers/filesystem-driver.js';
import type { RequestContext } from '../domain/context.js';
import { Conflict, NotFound } from '../domain/errors.js';
import type { Image } from '../domain/image.js';
import type { Policy } from '../domain/policy.js';
import type { ImageRepository } from '../domain/ports.js';
import { parseImportBody } from '../http/import-body.js';
import { openDatabase } from '../persistence/database.js';
import { createImageRepository } from '../persistence/image-repository.js';
import { migrateToLatest } from '../persistence/migrator.js';
import { createTaskRepository } from '../persistence/task-repository.js';
import { createImageImportService } from './image-import.js';
import { createTransferWatches } from './transfer-watch.js';

const HOUR = 3600_000;
const LEASE_MS = 5 * 60_000;
const ctx = { projectId: 'p', userId: 'u', roles: ['admin'], isAdmin: true, requestId: 'req-1' } as RequestContext;
const copyToB = parseImportBody({ method: { name: 'copy-image' }, stores: ['b'] }, ['copy-image']);
let root: string;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'iris-import-service-'));
});
after(async () => {
  for (const close of closers) await close();
  await rm(root, { recursive: true, force: true });
});

interface Reported {
  readonly message: string;
  readonly error: unknown;
  readonly extra: Record<string, unknown>;
}

/** An active image in store a, and an import service whose copy-image reads a stream the test feeds. */
async function setup(name: string, faults: { stagingDelete?: boolean; lockRelease?: boolean } = {}) {
  const dir = join(root, name);
  const database = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
  closers.push(database.close);
  await migrateToLatest(database.db);
  const clock = { at: new Date('2026-01-01T00:00:00Z'), now: () => clock.at };
  const repo = createImageRepository(database.db, { clock });
  const images: ImageRepository = faults.lockRelease
    ? { ...repo, deletePropertyAtomic: async () => { throw new Error('database is locked'); } }
    : repo;
  const tasks = createTaskRepository(database.db);
  const stores = createBlobStore({
    backends: [
      { id: 'a', driver: createFilesystemDriver({ dir: join(dir, 'a') }) },
      { id: 'b', driver: createFilesystemDriver({ dir: join(dir, 'b') }) },
    ],
  });
  const source = new PassThrough();
  const blobs = { ...stores, get: async () => ({ stream: source, size: 128 * 1024 }) };
  const realStaging = createBlobStore({ backends: [{ id: 'os_glance_staging_store', driver: createFilesystemDriver({ dir: join(dir, 'staging') }) }] });
  const staging = faults.stagingDelete
    ? { ...realStaging, delete: async () => { throw new Error('EIO: staging delete failed'); } }
    : realStaging;
  const reported: Reported[] = [];
  let n = 0;
  const imports = createImageImportService({
    images,
    tasks,
    blobs,
    staging,
    stagingLocation: (id) => `file://${join(dir, 'staging')}/${id}`,
    policy: { enforce: () => undefined } as unknown as Policy,
    clock,
    ids: { uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` },
    notifier: { emit: () => undefined },
    imageService: {
      findVisible: async (_ctx, id) => {
        const image = await images.get(id);
        if (!image) throw new NotFound(`No image found with ID ${id}`);
        return image;
      },
      watchTransfer: createTransferWatches().watch,
    },
    multiStore: true,
    imageSizeCap: 1 << 30,
    hashingAlgorithm: 'sha512',
    formatChecks: { requireImageFormatMatch: false, gptSafetyChecksNonfatal: [] },
    taskTimeToLiveHours: 48,
    web: { passesFilter: () => false, open: async () => { throw new Error('no web-download here'); } },
    taskLease: { owner: 'aaaaaaaaaaaa-1', leaseMs: LEASE_MS, isDeadOwner: () => false },
    onError: (message, error, extra) => reported.push({ message, error, extra }),
  });
  const id = 'aaaaaaaa-0000-4000-8000-000000000001';
  const start = clock.now();
  await images.add({
    id, name: name, status: 'active', visibility: 'shared', protected: false, os_hidden: false,
    disk_format: 'raw', container_format: 'bare', size: 128 * 1024, virtual_size: null, checksum: null,
    os_hash_algo: null, os_hash_value: null, min_ram: 0, min_disk: 0, owner: 'p', created_at: start,
    updated_at: start, deleted_at: null, tags: [], properties: {},
    locations: [{ url: `file://${join(dir, 'a')}/${id}`, metadata: { store: 'a' }, status: 'active' }],
  } as Image);
  return { images, tasks, imports, source, reported, id, clock, start };
}

test('a copy-image running past many leases keeps its lock thanks to its heartbeat', { timeout: 30_000 }, async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { images, tasks, imports, source, reported, id, clock, start } = await setup('heartbeat');
    await imports.importImage(ctx, id, copyToB);

    // The task starts and bytes flow.
    const taskId = (await images.get(id))!.properties.os_glance_import_task;
    assert.ok(taskId !== undefined);
    while ((await tasks.get(taskId))?.status !== 'processing') await tick();
    source.write(Buffer.alloc(64 * 1024, 1));

    // Two hours pass, beat by beat; each renews the lease, and sweeps find nothing to take.
    const beat = imports.leases.heartbeatMs;
    while (clock.at.getTime() - start.getTime() < 2 * HOUR) {
      clock.at = new Date(clock.at.getTime() + beat);
      mock.timers.tick(beat);
      const expected = clock.at.getTime() + LEASE_MS;
      while ((await tasks.get(taskId))!.lease?.expires_at.getTime() !== expected) await tick();
      assert.deepEqual(await imports.leases.sweep(), []);
    }

    // A second import is refused: the lock is alive, not stale.
    await assert.rejects(imports.importImage(ctx, id, copyToB), (e: unknown) => e instanceof Conflict && e.message === 'Image has active task');
    assert.equal((await images.get(id))!.properties.os_glance_import_task, taskId);

    // The first one finishes normally.
    source.end(Buffer.alloc(64 * 1024, 2));
    while ((await tasks.get(taskId))?.status === 'processing') await tick();
    assert.equal((await tasks.get(taskId))!.status, 'success', (await tasks.get(taskId))!.message);
    const copied = (await images.get(id))!;
    assert.deepEqual(copied.locations.map((l) => l.metadata.store), ['a', 'b']);
    assert.equal(copied.properties.os_glance_import_task, undefined, 'lock released');
    // After it, the heartbeat is gone: the task's updated_at no longer moves.
    const finishedAt = (await tasks.get(taskId))!.updated_at.getTime();
    clock.at = new Date(clock.at.getTime() + beat);
    mock.timers.tick(beat);
    await tick();
    assert.equal((await tasks.get(taskId))!.updated_at.getTime(), finishedAt);
    assert.deepEqual(reported, []);
  } finally {
    mock.timers.reset();
  }
});

test('a copy-image whose node stopped renewing is failed by the sweep after its lease; the image keeps its copy and loses the lock', { timeout: 30_000 }, async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { images, tasks, imports, source, reported, id, clock } = await setup('taken-over');
    await imports.importImage(ctx, id, copyToB);
    const taskId = (await images.get(id))!.properties.os_glance_import_task!;
    while ((await tasks.get(taskId))?.status !== 'processing') await tick();
    source.write(Buffer.alloc(64 * 1024, 1));

    // This node hangs: its timers do not run (no tick), the clock moves on for the others.
    clock.at = new Date(clock.at.getTime() + LEASE_MS - 1);
    assert.deepEqual(await imports.leases.sweep(), [], 'not before the lease ended');
    clock.at = new Date(clock.at.getTime() + 1);
    const [failed] = await imports.leases.sweep();
    assert.equal(failed?.id, taskId);
    assert.equal(failed?.status, 'failure');
    assert.equal(failed?.message, 'Import abandoned: the node running it stopped renewing its task lease');
    const image = (await images.get(id))!;
    assert.equal(image.status, 'active');
    assert.deepEqual(image.locations.map((l) => l.metadata.store), ['a']);
    assert.equal(image.properties.os_glance_import_task, undefined, 'lock dropped');
    assert.equal(image.properties.os_glance_failed_import, 'b');

    // The node wakes up a little later: its next beat finds the lease gone and the import stops.
    clock.at = new Date(clock.at.getTime() + 1000);
    mock.timers.tick(imports.leases.heartbeatMs);
    while (imports.runningCount > 0) await tick();
    assert.equal((await tasks.get(taskId))!.status, 'failure');
    assert.equal((await tasks.get(taskId))!.message, 'Import abandoned: the node running it stopped renewing its task lease');
    assert.deepEqual((await images.get(id))!.locations.map((l) => l.metadata.store), ['a']);
    // It leaves the image to the node that recovered it, and says so.
    assert.deepEqual(reported.map((r) => [r.message, r.extra.image]), [
      ['import stopped: its task was taken over by another node, which recovered the image', id],
    ]);
    assert.equal((await images.get(id))!.updated_at.getTime(), image.updated_at.getTime(), 'the image is not written again');
  } finally {
    mock.timers.reset();
  }
});

test('failures to drop staged data or release the lock are reported with the image id', { timeout: 30_000 }, async () => {
  const { images, tasks, imports, source, reported, id } = await setup('cleanup', { stagingDelete: true, lockRelease: true });
  await imports.importImage(ctx, id, copyToB);
  const taskId = (await images.get(id))!.properties.os_glance_import_task;
  assert.ok(taskId !== undefined);
  // The whole image, as its store reports it (128 KiB).
  source.end(Buffer.alloc(128 * 1024, 3));
  while ((await tasks.get(taskId))?.status !== 'success') await tick();
  while (reported.length < 2) await tick();
  const messages = reported.map((r) => r.message).sort();
  assert.deepEqual(messages, [
    'could not drop staged data; left in the staging area',
    'could not release the import lock; the next import busts it',
  ]);
  for (const r of reported) assert.equal(r.extra.image, id);
  assert.match(String(reported.find((r) => r.message.startsWith('could not drop'))!.error), /EIO/);
});
