/**
 * The Task entity (Glance's tasks + task_info tables): the record of an asynchronous import.
 * Its status machine is Glance's: pending → processing → success | failure, and pending may
 * fail directly. Field names are Glance's wire names.
 */
import { Conflict } from './errors.js';

export const TASK_STATUSES = ['pending', 'processing', 'success', 'failure'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_TYPES = ['import', 'api_image_import'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface Task {
  readonly id: string;
  type: TaskType;
  status: TaskStatus;
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
}

const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['processing', 'failure'],
  processing: ['success', 'failure'],
  success: [],
  failure: [],
};

export function canTransitionTask(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws Conflict when `from → to` is not one of Glance's task transitions. */
export function assertTaskTransition(from: TaskStatus, to: TaskStatus): void {
  if (!canTransitionTask(from, to)) {
    throw new Conflict(`Task status transition from ${from} to ${to} is not allowed`);
  }
}

/** Whether the task has ended (success or failure). */
export function isTaskFinished(task: Pick<Task, 'status'>): boolean {
  return task.status === 'success' || task.status === 'failure';
}
