/** TaskRepository on a real, migrated database of every engine (test-engines.ts). */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, NotFound } from '../../src/domain/errors.js';
import type { Task } from '../../src/domain/task.js';
import type { TaskListQuery, TaskRepository } from '../../src/domain/ports.js';
import { createTaskRepository } from '../../src/persistence/task-repository.js';
import { createTestDb } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const NOW = new Date('2024-05-03T00:00:00.000Z');
const HOUR = 3600_000;

let counter = 0;
function makeTask(overrides: Partial<Task> = {}): Task {
  counter += 1;
  const at = new Date(Date.UTC(2024, 4, 1, 0, 0, counter));
  return {
    id: `10000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    type: 'api_image_import',
    status: 'pending',
    owner: 'project-a',
    image_id: null,
    request_id: 'req-1',
    user_id: 'user-1',
    expires_at: null,
    created_at: at,
    updated_at: at,
    input: { image_id: 'img', import_req: { method: { name: 'glance-direct' } }, backend: ['local'] },
    result: null,
    message: '',
    ...overrides,
  };
}

function query(overrides: Partial<TaskListQuery> = {}): TaskListQuery {
  return { owner: null, filters: {}, sortKey: 'created_at', sortDir: 'desc', limit: 100, now: NOW, ...overrides };
}

for (const engine of await testEngines()) {
  describe(`task repository on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    let tasks: TaskRepository;
    before(async () => {
      t = await createTestDb(engine.server);
      tasks = createTaskRepository(t.db, { engine: t.engine });
    });
    after(async () => {
      await t.cleanup();
    });
    beforeEach(async () => {
      await t.db.deleteFrom('tasks').execute();
    });

    test('renewLease moves only updated_at and the lease, of an unfinished task its owner still holds', async () => {
      const lease = { owner: 'aaaaaaaaaaaa-100', expires_at: new Date(NOW.getTime() + 5 * 60_000) };
      const running = makeTask({ status: 'processing', message: 'Copied 5 MiB', lease });
      const pending = makeTask({ status: 'pending', lease });
      const done = makeTask({ status: 'success', lease });
      for (const task of [running, pending, done]) await tasks.add(task);
      assert.deepEqual(await tasks.get(running.id), running, 'the lease round-trips');
      const later = new Date(NOW.getTime() + HOUR);
      const renewed = { owner: lease.owner, expires_at: new Date(later.getTime() + 5 * 60_000) };
      assert.equal(await tasks.renewLease(running.id, renewed, later), true);
      assert.deepEqual(await tasks.get(running.id), { ...running, updated_at: later, lease: renewed });
      assert.equal(await tasks.renewLease(pending.id, renewed, later), true);
      assert.equal(await tasks.renewLease(done.id, renewed, later), false, 'a finished task has no lease to renew');
      assert.equal(await tasks.renewLease(running.id, { ...renewed, owner: 'bbbbbbbbbbbb-200' }, later), false, 'another owner');
      assert.equal(await tasks.renewLease('10000000-0000-4000-8000-999999999999', renewed, later), false);
      // A save writes the task's fields, never its lease: a renewal meanwhile is kept.
      await tasks.save({ ...running, message: 'Copied 6 MiB' });
      assert.deepEqual((await tasks.get(running.id))?.lease, renewed);
      assert.deepEqual(await tasks.leaseOwners(), [lease.owner]);
    });

    test('add then get round-trips every field, JSON input/result included', async () => {
      const task = makeTask({
        image_id: 'image-1',
        expires_at: new Date('2024-05-04T00:00:00.123Z'),
        result: { image_id: 'image-1', nested: [1, 'two', null] },
        message: 'Copied 0 MiB',
        input: null,
      });
      await tasks.add(task);
      assert.deepEqual(await tasks.get(task.id), task);
      assert.equal(await tasks.get('nope'), null);
    });

    test('add refuses a reused id with Conflict', async () => {
      const task = makeTask();
      await tasks.add(task);
      await assert.rejects(tasks.add({ ...task, owner: 'other' }), Conflict);
    });

    test('save is a compare-and-swap on status', async () => {
      const task = makeTask();
      await tasks.add(task);
      const processing: Task = { ...task, status: 'processing', updated_at: new Date(task.updated_at.getTime() + 1000) };
      await tasks.save(processing, { fromStatus: 'pending' });
      assert.deepEqual(await tasks.get(task.id), processing);
      // A second writer that still believes the task is pending loses.
      await assert.rejects(tasks.save({ ...task, status: 'failure', message: 'x' }, { fromStatus: 'pending' }), Conflict);
      // Without fromStatus the task's own status is the expected one.
      const done: Task = { ...processing, status: 'success', result: { image_id: 'i' }, message: 'done' };
      await assert.rejects(tasks.save(done), Conflict);
      await tasks.save(done, { fromStatus: 'processing' });
      assert.deepEqual(await tasks.get(task.id), done);
      await assert.rejects(tasks.save(makeTask()), NotFound);
    });

    test('list: default order is created_at desc, id desc; owner scoping; filters', async () => {
      const same = new Date(Date.UTC(2024, 4, 2));
      const a = makeTask({ id: 'aaaaaaaa-0000-4000-8000-000000000001', created_at: same, owner: 'p1', status: 'success' });
      const b = makeTask({ id: 'bbbbbbbb-0000-4000-8000-000000000001', created_at: same, owner: 'p2', image_id: 'img-b' });
      const c = makeTask({ created_at: new Date(same.getTime() - HOUR), owner: 'p1', type: 'import' });
      for (const task of [a, c, b]) await tasks.add(task);

      assert.deepEqual((await tasks.list(query())).map((x) => x.id), [b.id, a.id, c.id]);
      assert.deepEqual((await tasks.list(query({ sortDir: 'asc' }))).map((x) => x.id), [c.id, a.id, b.id]);
      assert.deepEqual((await tasks.list(query({ owner: 'p1' }))).map((x) => x.id), [a.id, c.id]);
      assert.deepEqual((await tasks.list(query({ filters: { status: ['success'] } }))).map((x) => x.id), [a.id]);
      assert.deepEqual((await tasks.list(query({ filters: { type: ['import'] } }))).map((x) => x.id), [c.id]);
      assert.deepEqual((await tasks.list(query({ filters: { image_id: ['img-b'] } }))).map((x) => x.id), [b.id]);
      // Repeated values are ANDed: two different statuses match nothing.
      assert.deepEqual(await tasks.list(query({ filters: { status: ['success', 'pending'] } })), []);
      assert.deepEqual((await tasks.list(query({ filters: { created_at: [same] } }))).map((x) => x.id), [b.id, a.id]);
      assert.deepEqual(await tasks.list(query({ filters: { created_at: [null] } })), []);
      assert.deepEqual(await tasks.list(query({ filters: { deleted_at: [same] } })), []);
      assert.deepEqual(await tasks.list(query({ limit: 0 })), []);
    });

    test('list pages with a marker through every sort key and direction, nullable keys included', async () => {
      const all: Task[] = [];
      for (let i = 0; i < 9; i++) {
        const task = makeTask({
          // Ties and NULLs on purpose: keyset paging must neither skip nor repeat.
          created_at: new Date(Date.UTC(2024, 4, 1, i % 3)),
          updated_at: new Date(Date.UTC(2024, 4, 2, i % 2)),
          expires_at: i % 3 === 0 ? null : new Date(NOW.getTime() + (1 + (i % 2)) * HOUR),
          image_id: i % 4 === 0 ? null : `img-${i % 2}`,
          status: (['pending', 'processing', 'success'] as const)[i % 3]!,
          owner: `p${i % 2}`,
          user_id: i % 5 === 0 ? null : 'u',
        });
        all.push(task);
        await tasks.add(task);
      }
      const keys = ['created_at', 'updated_at', 'id', 'type', 'status', 'expires_at', 'owner', 'image_id', 'request_id', 'user_id', 'deleted_at', 'deleted'] as const;
      for (const sortKey of keys) {
        for (const sortDir of ['asc', 'desc'] as const) {
          const whole = (await tasks.list(query({ sortKey, sortDir }))).map((x) => x.id);
          assert.equal(whole.length, all.length);
          for (const pageSize of [1, 2, 4]) {
            const seen: string[] = [];
            let marker: string | undefined;
            for (;;) {
              const page = await tasks.list(query({ sortKey, sortDir, limit: pageSize, marker }));
              seen.push(...page.map((x) => x.id));
              if (page.length < pageSize) break;
              marker = page[page.length - 1]!.id;
            }
            assert.deepEqual(seen, whole, `${sortKey} ${sortDir} by ${pageSize}`);
          }
        }
      }
    });

    test('list: unknown, deleted or expired marker is NotFound; expired tasks are left out', async () => {
      const live = makeTask({ status: 'success', expires_at: new Date(NOW.getTime() + HOUR) });
      const expired = makeTask({ status: 'success', expires_at: NOW });
      await tasks.add(live);
      await tasks.add(expired);
      assert.deepEqual((await tasks.list(query())).map((x) => x.id), [live.id]);
      await assert.rejects(tasks.list(query({ marker: 'unknown' })), {
        name: 'NotFound',
        message: 'Task with the given id unknown was not found',
      });
      await assert.rejects(tasks.list(query({ marker: expired.id })), NotFound);
      // The marker is checked even when the page is empty.
      await assert.rejects(tasks.list(query({ marker: 'unknown', limit: 0 })), NotFound);
      assert.deepEqual(await tasks.list(query({ marker: live.id })), []);
    });

    test('listForImage returns the image’s live tasks oldest first (created_at, then id)', async () => {
      // Glance's tasks_get_by_image has no ORDER BY; Iris uses an explicit one every engine has.
      const later = makeTask({ image_id: 'img', created_at: new Date(Date.UTC(2024, 4, 2)) });
      const earlier = makeTask({ image_id: 'img', created_at: new Date(Date.UTC(2024, 4, 1)) });
      const other = makeTask({ image_id: 'other' });
      for (const task of [later, earlier, other]) await tasks.add(task);
      assert.deepEqual((await tasks.listForImage('img')).map((x) => x.id), [earlier.id, later.id]);
      assert.deepEqual(await tasks.listForImage('none'), []);
    });

    test('failAbandoned fails unfinished tasks whose lease ended, that have none, or of the given owners, and returns them', async () => {
      const lease = (owner: string, minutes: number) => ({ owner, expires_at: new Date(NOW.getTime() + minutes * 60_000) });
      const unleased = makeTask({ status: 'pending' });
      const ended = makeTask({ status: 'processing', message: 'Copied 10 MiB', lease: lease('aaaaaaaaaaaa-1', 0) });
      const live = makeTask({ status: 'processing', lease: lease('aaaaaaaaaaaa-2', 1) });
      const liveOfDead = makeTask({ status: 'processing', lease: lease('aaaaaaaaaaaa-3', 1) });
      const done = makeTask({ status: 'success', expires_at: new Date(NOW.getTime() + HOUR), lease: lease('aaaaaaaaaaaa-1', -1) });
      for (const task of [unleased, ended, live, liveOfDead, done]) await tasks.add(task);
      const expiresAt = new Date(NOW.getTime() + 48 * HOUR);
      const expect = (task: Task, message: string): Task => ({ ...task, status: 'failure', message, updated_at: NOW, expires_at: expiresAt });

      assert.deepEqual(await tasks.failAbandoned({}, 'nothing asked', NOW, expiresAt), []);
      assert.deepEqual(await tasks.failAbandoned({ owners: ['aaaaaaaaaaaa-3'] }, 'restart', NOW, expiresAt), [expect(liveOfDead, 'restart')]);
      assert.deepEqual(await tasks.failAbandoned({ id: live.id, leaseEndedBy: NOW }, 'one', NOW, expiresAt), [], 'a live lease is kept');
      assert.deepEqual(await tasks.failAbandoned({ leaseEndedBy: NOW }, 'leased only', NOW, expiresAt).then((f) => f.map((t) => t.id)), [ended.id]);
      const failed = await tasks.failAbandoned({ leaseEndedBy: NOW, unleased: true }, 'lease ended', NOW, expiresAt);
      assert.deepEqual(
        [...failed].sort((a, b) => a.id.localeCompare(b.id)),
        [expect(unleased, 'lease ended')],
      );
      assert.deepEqual(await tasks.get(ended.id), expect(ended, 'leased only'));
      assert.deepEqual(await tasks.get(live.id), live);
      assert.deepEqual(await tasks.get(done.id), done);
      assert.deepEqual(await tasks.failAbandoned({ leaseEndedBy: NOW, unleased: true }, 'again', NOW, expiresAt), []);
      assert.deepEqual(await tasks.leaseOwners(), ['aaaaaaaaaaaa-2']);
    });

    test('purgeExpired soft-deletes finished tasks expired at or before now', async () => {
      const old = makeTask({ status: 'failure', expires_at: new Date(NOW.getTime() - HOUR) });
      const exact = makeTask({ status: 'success', expires_at: NOW });
      const fresh = makeTask({ status: 'success', expires_at: new Date(NOW.getTime() + 1) });
      const running = makeTask({ status: 'processing' });
      for (const task of [old, exact, fresh, running]) await tasks.add(task);
      assert.equal(await tasks.purgeExpired(NOW), 2);
      assert.equal(await tasks.get(old.id), null);
      assert.equal(await tasks.get(exact.id), null);
      assert.deepEqual(await tasks.get(fresh.id), fresh);
      assert.deepEqual(await tasks.get(running.id), running);
      // Purged rows stay (soft delete) so their ids are never reused.
      await assert.rejects(tasks.add(old), Conflict);
      const row = await t.db.selectFrom('tasks').select(['deleted', 'deleted_at']).where('id', '=', old.id).executeTakeFirstOrThrow();
      assert.deepEqual(row, { deleted: 1, deleted_at: NOW.getTime() });
      assert.equal(await tasks.purgeExpired(NOW), 0);
      await assert.rejects(tasks.save({ ...old, status: 'failure' }), NotFound);
    });
  });
}
