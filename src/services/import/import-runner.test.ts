/**
 * The import task over real SQLite repositories and filesystem stores, one of which fails: its
 * driver is the real filesystem driver whose writes run out of space after 1.5 MiB
 * (StorageFull mid-write, so the driver's own clean-up runs).
 * - all_stores_must_succeed=false: the import succeeds in the other stores, the failed store is
 *   listed in os_glance_failed_import, the failure is reported with the store, and nothing is
 *   left in the failed store;
 * - all_stores_must_succeed=true (Glance's default): the task fails with the store's error, the
 *   copies already made are deleted, and the image returns to queued with every store failed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import type { BlobDriver } from '../../blob/blob-driver.js';
import { createBlobStore } from '../../blob/blob-store.js';
import { createFilesystemDriver } from '../../blob/drivers/filesystem-driver.js';
import type { RequestContext } from '../../domain/context.js';
import { NotFound, StorageFull } from '../../domain/errors.js';
import type { Image } from '../../domain/image.js';
import type { Policy } from '../../domain/policy.js';
import type { Task } from '../../domain/task.js';
import { parseImportBody } from '../../http/import-body.js';
import { openDatabase } from '../../persistence/database.js';
import { createImageRepository } from '../../persistence/image-repository.js';
import { migrateToLatest } from '../../persistence/migrator.js';
import { createTaskRepository } from '../../persistence/task-repository.js';
import { createImageImportService } from '../image-import.js';
import { createTransferWatches } from '../transfer-watch.js';

const ctx = { projectId: 'p', userId: 'u', roles: ['admin'], isAdmin: true, requestId: 'req-1' } as RequestContext;
const FULL = 'No space left on device (store b)';
let root: string;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'iris-import-runner-'));
});
after(async () => {
  for (const close of closers) await close();
  await rm(root, { recursive: true, force: true });
});

/** The filesystem driver, but every write runs out of space once `limit` bytes went through. */
function fullAfter(driver: BlobDriver, limit: number): BlobDriver {
  return {
    ...driver,
    write(key, source, opts) {
      // Pulled by the driver as it writes, so the failure reaches it like a failing disk would.
      async function* untilFull(): AsyncGenerator<Buffer> {
        let seen = 0;
        for await (const chunk of source as AsyncIterable<Buffer>) {
          seen += chunk.length;
          if (seen > limit) throw new StorageFull(FULL);
          yield chunk;
        }
      }
      return driver.write(key, Readable.from(untilFull()), opts);
    },
  };
}

/** Entries in a store directory, its temp area included (a partial write would show there). */
function everything(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f !== '.tmp');
}

async function setup(name: string) {
  const dir = join(root, name);
  const database = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
  closers.push(database.close);
  await migrateToLatest(database.db);
  const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
  const images = createImageRepository(database.db, { clock });
  const tasks = createTaskRepository(database.db);
  const storeDir = (id: string): string => join(dir, id);
  const blobs = createBlobStore({
    backends: [
      { id: 'a', driver: createFilesystemDriver({ dir: storeDir('a') }) },
      { id: 'b', driver: fullAfter(createFilesystemDriver({ dir: storeDir('b') }), 1536 * 1024) },
      { id: 'c', driver: createFilesystemDriver({ dir: storeDir('c') }) },
    ],
  });
  const staging = createBlobStore({ backends: [{ id: 'os_glance_staging_store', driver: createFilesystemDriver({ dir: storeDir('staging') }) }] });
  const reported: { message: string; error: unknown; extra: Record<string, unknown> }[] = [];
  const taskIds: string[] = [];
  const imports = createImageImportService({
    images,
    tasks,
    blobs,
    staging,
    stagingLocation: (id) => `file://${storeDir('staging')}/${id}`,
    policy: { enforce: () => undefined } as unknown as Policy,
    clock,
    ids: {
      uuid: () => {
        taskIds.push(`00000000-0000-4000-8000-${String(taskIds.length + 1).padStart(12, '0')}`);
        return taskIds.at(-1)!;
      },
    },
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
    taskLease: { owner: 'aaaaaaaaaaaa-1', leaseMs: 300_000, isDeadOwner: () => false },
    onError: (message, error, extra) => reported.push({ message, error, extra }),
  });
  const id = 'eeeeeeee-0000-4000-8000-000000000001';
  await images.add({
    id, name, status: 'queued', visibility: 'shared', protected: false, os_hidden: false,
    disk_format: 'raw', container_format: 'bare', size: null, virtual_size: null, checksum: null,
    os_hash_algo: null, os_hash_value: null, min_ram: 0, min_disk: 0, owner: 'p', created_at: clock.now(),
    updated_at: clock.now(), deleted_at: null, tags: [], properties: {}, locations: [],
  } as Image);
  // Three 1 MiB chunks as the stores read them: store b takes one before it runs out of space.
  const data = randomBytes(3 * 1024 * 1024);
  await imports.stage(ctx, id, Readable.from([data]), { contentLength: data.length });

  /** Imports the staged data into a, b, c and waits for the task to end and the lock to go. */
  async function importToAll(allStoresMustSucceed: boolean): Promise<{ task: Task; image: Image }> {
    const body = { method: { name: 'glance-direct' }, stores: ['a', 'b', 'c'], all_stores_must_succeed: allStoresMustSucceed };
    await imports.importImage(ctx, id, parseImportBody(body, ['glance-direct']));
    const taskId = taskIds.at(-1)!;
    while ((await tasks.get(taskId))?.status !== 'success' && (await tasks.get(taskId))?.status !== 'failure') await tick();
    while (imports.runningCount > 0) await tick();
    return { task: (await tasks.get(taskId))!, image: (await images.get(id))! };
  }
  return { id, data, storeDir, reported, importToAll };
}

test('all_stores_must_succeed=false: a store that fails is listed as failed and the others get the image', { timeout: 60_000 }, async () => {
  const { id, data, storeDir, reported, importToAll } = await setup('partial');
  const { task, image } = await importToAll(false);

  assert.equal(task.status, 'success', task.message);
  assert.deepEqual(task.result, { image_id: id });
  assert.equal(image.status, 'active');
  assert.deepEqual(image.locations.map((l) => l.metadata.store), ['a', 'c']);
  assert.equal(image.properties.os_glance_failed_import, 'b');
  assert.equal(image.properties.os_glance_importing_to_stores, '');
  assert.equal(image.properties.os_glance_import_task, undefined, 'lock released');
  assert.equal(image.size, data.length);
  for (const store of ['a', 'c']) assert.deepEqual(await readFile(join(storeDir(store), id)), data, `store ${store} holds the data`);
  assert.deepEqual(everything(storeDir('b')), [], 'nothing left in the failed store');
  assert.deepEqual(everything(storeDir('staging')), [], 'staged data dropped');

  assert.equal(reported.length, 1, JSON.stringify(reported.map((r) => r.message)));
  assert.equal(reported[0]!.message, 'import to one store failed; all_stores_must_succeed is false, continuing');
  assert.equal(reported[0]!.extra.store, 'b');
  assert.equal(reported[0]!.extra.task, task.id);
  assert.ok(reported[0]!.error instanceof StorageFull);
});

test('all_stores_must_succeed=true: the failing store fails the import, copies made are removed, the image is queued', { timeout: 60_000 }, async () => {
  const { id, storeDir, reported, importToAll } = await setup('all-or-nothing');
  const { task, image } = await importToAll(true);

  assert.equal(task.status, 'failure');
  assert.equal(task.message, FULL);
  assert.equal(image.status, 'queued');
  assert.deepEqual(image.locations, []);
  assert.equal(image.size, null);
  assert.equal(image.checksum, null);
  assert.equal(image.properties.os_glance_failed_import, 'a,b,c');
  assert.equal(image.properties.os_glance_importing_to_stores, '');
  assert.equal(image.properties.os_glance_import_task, undefined, 'lock released');
  for (const store of ['a', 'b', 'c', 'staging']) assert.deepEqual(everything(storeDir(store)), [], `nothing left in ${store}`);
  assert.ok(!existsSync(join(storeDir('a'), id)));
  // StorageFull is the task's own failure (its message), not a background error.
  assert.deepEqual(reported, []);
});
