/**
 * The import lock (Glance's `os_glance_import_task`): set atomically when the task is created,
 * dropped when it ends; a second import while it is held is 409. A lock whose task is gone or
 * has not moved for Glance's expiry is busted; a running import's heartbeat keeps its task
 * moving so a long single copy is not mistaken for an abandoned one.
 */
import { Conflict } from '../../domain/errors.js';
import type { Image } from '../../domain/image.js';
import type { Clock, ImageRepository, TaskRepository } from '../../domain/ports.js';
import type { Task } from '../../domain/task.js';
import { LOCK } from './import-image-properties.js';
import type { ImportTaskProgress } from './import-task-progress.js';

/** Glance busts a lock whose task has not moved for an hour (two when pending). */
export const LOCK_EXPIRY_MS = 60 * 60 * 1000;
/** How often a running import marks its task alive, well inside the lock expiry. */
export const HEARTBEAT_MS = 60 * 1000;

export interface ImportLockDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  readonly clock: Clock;
  readonly progress: Pick<ImportTaskProgress, 'finish'>;
  /** Interval of a running import's heartbeat on its task (default one minute). */
  readonly heartbeatMs?: number;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type ImportLock = ReturnType<typeof createImportLock>;

export function createImportLock(deps: ImportLockDeps) {
  const { images, tasks, clock } = deps;
  return {
    /**
     * An existing lock: Conflict unless its task is gone or has not moved for Glance's expiry,
     * in which case it is busted. Returns the busted lock's task (null when it was gone), or
     * undefined when the image had no lock.
     */
    async checkFree(image: Image): Promise<Task | null | undefined> {
      const holder = image.properties[LOCK];
      if (holder === undefined) return undefined;
      const task = await tasks.get(holder);
      const age = task ? clock.now().getTime() - task.updated_at.getTime() : 0;
      const expiry = task?.status === 'pending' ? 2 * LOCK_EXPIRY_MS : LOCK_EXPIRY_MS;
      if (!task || age >= expiry) {
        // Bust the stale lock (Glance's _bust_import_lock): fail its task if it never finished.
        await images.deletePropertyAtomic(image.id, LOCK, holder);
        if (task && (task.status === 'pending' || task.status === 'processing')) {
          await deps.progress.finish(task, 'failure', 'Expired lock preempted');
        }
        return task;
      }
      throw new Conflict('Image has active task');
    },

    /** Takes the lock for `taskId`; Conflict (Glance's message) when another import holds it. */
    async acquire(imageId: string, taskId: string): Promise<void> {
      try {
        await images.setPropertyAtomic(imageId, LOCK, taskId);
      } catch (e) {
        if (e instanceof Conflict) {
          throw new Conflict(`New operation on image '${imageId}' is not permitted as prior operation is still in progress`);
        }
        throw e;
      }
    },

    /** Gives the lock back when the task could not be recorded; errors reach the caller. */
    async undo(imageId: string, taskId: string): Promise<void> {
      await images.deletePropertyAtomic(imageId, LOCK, taskId);
    },

    /** Drops the lock if `taskId` still holds it; a failure is reported (the lock expires). */
    async release(imageId: string, taskId: string): Promise<void> {
      await images.deletePropertyAtomic(imageId, LOCK, taskId).catch((e: unknown) => {
        deps.onError('could not release the import lock; it is busted after an hour', e, { image: imageId, task: taskId });
      });
    },

    /**
     * Marks the task alive every heartbeat until the returned function is called. Stores only
     * touch the task between stores: a single copy longer than the lock expiry would otherwise
     * look abandoned and be taken over while its bytes still flow.
     */
    keepAlive(task: Task): () => void {
      const heartbeat = setInterval(() => {
        tasks.touch(task.id, clock.now()).catch((e) => deps.onError('could not mark import task alive', e, { task: task.id, image: task.image_id }));
      }, deps.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      return () => clearInterval(heartbeat);
    },
  };
}
