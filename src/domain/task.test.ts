import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict } from './errors.js';
import {
  FAIL_UNFINISHED,
  TASK_STATUSES,
  beginProcessing,
  canTransitionTask,
  finishTask,
  isFinished,
  newTask,
  transitionTask,
  type Task,
  type TaskStatus,
} from './task.js';

const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T11:00:00Z');

function task(): Task {
  return newTask({
    id: 't1',
    type: 'api_image_import',
    owner: 'project-a',
    image_id: 'img',
    request_id: null,
    user_id: null,
    created_at: T0,
    input: { image_id: 'img' },
  });
}

test('a new task is pending, with no message, result or expiry, updated when created', () => {
  const t = task();
  assert.deepEqual([t.status, t.message, t.result, t.expires_at, t.updated_at], ['pending', '', null, null, T0]);
});

test("canTransitionTask is Glance's table (Task._validate_task_status_transition)", () => {
  const glance: Record<TaskStatus, TaskStatus[]> = {
    pending: ['processing', 'failure'],
    processing: ['success', 'failure'],
    success: [],
    failure: [],
  };
  for (const from of TASK_STATUSES) {
    for (const to of TASK_STATUSES) assert.equal(canTransitionTask(from, to), glance[from].includes(to), `${from} → ${to}`);
  }
});

test('begin, then finish: message, result and expiry set with the status', () => {
  const processing = beginProcessing(task(), T1);
  assert.deepEqual([processing.status, processing.updated_at], ['processing', T1]);
  assert.equal(isFinished(processing), false);
  const done = finishTask(processing, 'success', { now: T1, timeToLiveMs: 3600_000, message: '', result: { ok: 1 } });
  assert.deepEqual([done.status, done.result, done.expires_at], ['success', { ok: 1 }, new Date('2024-05-01T12:00:00Z')]);
  assert.equal(isFinished(done), true);
  // No result given: the one the task had stays.
  assert.deepEqual(finishTask(processing, 'failure', { now: T1, timeToLiveMs: 0, message: 'boom' }).result, null);
});

test("refused transitions throw Conflict with Glance's wording", () => {
  assert.throws(
    () => transitionTask(task(), 'success'),
    (e: unknown) => e instanceof Conflict && e.message === 'Status transition from pending to success is not allowed',
  );
  const failed = finishTask(task(), 'failure', { now: T1, timeToLiveMs: 0, message: 'x' });
  assert.throws(() => beginProcessing(failed, T1), Conflict);
});

test('the start-up sweep fails exactly the unfinished statuses', () => {
  assert.deepEqual([...FAIL_UNFINISHED.from], ['pending', 'processing']);
  assert.equal(FAIL_UNFINISHED.to, 'failure');
});
