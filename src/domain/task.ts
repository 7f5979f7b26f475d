/**
 * The Task entity (Glance's tasks + task_info tables): the record of an asynchronous import.
 * Its status machine is Glance's: pending → processing → success | failure, and pending may
 * fail directly (the import service moves it with compare-and-swap saves). Field names are
 * Glance's wire names.
 */
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
