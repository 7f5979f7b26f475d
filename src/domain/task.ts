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
  /**
   * Iris only, never shown: the lease of a task this service runs (absent for tasks created
   * without one, which any node may take over). Written by `add` and the lease methods of the
   * repository, never by `save`.
   */
  readonly lease?: TaskLease;
}
