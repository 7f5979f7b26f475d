/**
 * The Task entity (Glance's tasks + task_info tables): the record of an asynchronous import.
 * Its status machine is Glance's: pending → processing → success | failure, and pending may
 * fail directly (the import service moves it with compare-and-swap saves). Field names are
 * Glance's wire names.
 */
import { Conflict } from './errors.js';

export const TASK_STATUSES = ['pending', 'processing', 'success', 'failure'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_TYPES = ['import', 'api_image_import'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/**
 * Which process runs a pending or processing task, and until when: the owner renews it while
 * bytes move, and any node may fail a task whose lease ended (its owner stopped).
 */
export interface TaskLease {
  /** The owning process, `<node>-<pid>` (blob/writer-identity.ts). */
  readonly owner: string;
  readonly expires_at: Date;
}

export interface Task {
  readonly id: string;
  type: TaskType;
  /** Changed only through transitionTask(). */
  readonly status: TaskStatus;
  /** Project that created the task (Glance: NOT NULL). */
  owner: string;
  image_id: string | null;
  request_id: string | null;
  user_id: string | null;
  /** Set when the task ends: now + task_time_to_live; after it the task may be purged. */
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** Parameters (for imports: `{ image_id, import_req, backend }`). */
  input: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  /** Human-readable progress or failure text; '' when none (Glance stores '' for None). */
  message: string;
  /**
   * Iris only, never shown: the lease of a task this service runs (absent for tasks created
   * without one, which any node may take over). Written by `add` and the lease methods of the
   * repository, never by `save`.
   */
  readonly lease?: TaskLease;
}

/** Allowed task status transitions (glance/domain Task._validate_task_status_transition). */
const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['processing', 'failure'],
  processing: ['success', 'failure'],
  success: [],
  failure: [],
};

export function canTransitionTask(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** A task that has not ended (may still fail); the statuses a start-up sweep fails. */
export const UNFINISHED_TASK_STATUSES: readonly TaskStatus[] = TASK_STATUSES.filter((s) => canTransitionTask(s, 'failure'));

/** The start-up sweep of tasks a crash left unfinished, run in SQL by the repository. */
export const FAIL_UNFINISHED = { from: UNFINISHED_TASK_STATUSES, to: 'failure' } as const satisfies {
  readonly from: readonly TaskStatus[];
  readonly to: TaskStatus;
};

export function isFinished(task: Task): boolean {
  return !UNFINISHED_TASK_STATUSES.includes(task.status);
}

/** The fields that may change together with the status (never the id). */
export type TaskChanges = Partial<Omit<Task, 'id' | 'status'>>;

/**
 * The one way a task's status changes: `task` moved to `to` with `changes` applied. Throws
 * Conflict with Glance's wording (InvalidTaskStatusTransition) when the table forbids it; the
 * caller saves the result with `{ fromStatus: task.status }` (compare-and-swap).
 */
export function transitionTask(task: Task, to: TaskStatus, changes: TaskChanges = {}): Task {
  if (!canTransitionTask(task.status, to)) {
    throw new Conflict(`Status transition from ${task.status} to ${to} is not allowed`);
  }
  return { ...task, ...changes, status: to };
}

/** pending → processing (Glance's Task.begin_processing). */
export function beginProcessing(task: Task, now: Date): Task {
  return transitionTask(task, 'processing', { updated_at: now });
}

/**
 * The task ends (Glance's Task.succeed / Task.fail): its message and result are set and it
 * expires `timeToLiveMs` after now.
 */
export function finishTask(
  task: Task,
  to: 'success' | 'failure',
  end: { readonly now: Date; readonly timeToLiveMs: number; readonly message: string; readonly result?: Record<string, unknown> | null },
): Task {
  return transitionTask(task, to, {
    message: end.message,
    result: end.result === undefined ? task.result : end.result,
    updated_at: end.now,
    expires_at: new Date(end.now.getTime() + end.timeToLiveMs),
  });
}

/** The fields every new task is created with; it starts `pending`, with no result and no expiry. */
export type NewTaskFields = Omit<Task, 'status' | 'expires_at' | 'result' | 'message' | 'updated_at'>;

/** A new task (Glance's TaskFactory.new_task): pending, no result, no message, no expiry. */
export function newTask(fields: NewTaskFields): Task {
  return { ...fields, status: 'pending', expires_at: null, result: null, message: '', updated_at: fields.created_at };
}
