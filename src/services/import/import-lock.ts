/**
 * The import lock (Glance's `os_glance_import_task`): set atomically when the task is created,
 * dropped when it ends; a second import while it is held is 409. The lock follows its task's
 * lease (task-lease.ts), not Glance's fixed hour: it holds while the task is unfinished and
 * its owner renews the lease; a lock whose task is gone or finished is stale and busted; a
 * lock whose task's lease ended is taken over (the task failed, the image recovered, as a
 * restart does) before the new import proceeds.
 */
import { Conflict } from '../../domain/errors.js';
import type { Image } from '../../domain/image.js';
import type { Clock, ImageRepository, TaskRepository } from '../../domain/ports.js';
import type { Task } from '../../domain/task.js';
import { LOCK } from './import-image-properties.js';
import type { TaskLeases } from './task-lease.js';

/** The message of a task whose expired lease a new import preempted (Glance's wording). */
export const PREEMPTED_MESSAGE = 'Expired lock preempted';

export interface ImportLockDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  readonly clock: Clock;
  readonly leases: Pick<TaskLeases, 'keepAlive' | 'takeOver'>;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type ImportLock = ReturnType<typeof createImportLock>;

export function createImportLock(deps: ImportLockDeps) {
  const { images, tasks, clock } = deps;
  return {
    /**
     * An existing lock: Conflict while its task is unfinished under a live lease. A lock whose
     * task is gone or finished is busted; one whose task's lease ended is taken over. Returns
     * that task (null when it was gone), or undefined when the image had no lock.
     */
    async checkFree(image: Image): Promise<Task | null | undefined> {
      const holder = image.properties[LOCK];
      if (holder === undefined) return undefined;
      const task = await tasks.get(holder);
      if (task && (task.status === 'pending' || task.status === 'processing')) {
        const now = clock.now();
        if (task.lease !== undefined && task.lease.expires_at > now) throw new Conflict('Image has active task');
        // Its node stopped renewing: fail it and recover the image as any node's sweep would.
        const [failed] = await deps.leases.takeOver({ id: task.id, leaseEndedBy: now, unleased: true }, PREEMPTED_MESSAGE);
        // Renewed meanwhile, or another node took it over first: as Glance when it loses that race.
        if (failed === undefined) throw new Conflict('Image has active task');
        return failed;
      }
      // Glance's _bust_import_lock: a lock its task no longer needs.
      if (!(await images.deletePropertyAtomic(image.id, LOCK, holder))) throw new Conflict('Image has active task');
      return task;
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

    /** Drops the lock if `taskId` still holds it; a failure is reported (the next import busts it). */
    async release(imageId: string, taskId: string): Promise<void> {
      await images.deletePropertyAtomic(imageId, LOCK, taskId).catch((e: unknown) => {
        deps.onError('could not release the import lock; the next import busts it', e, { image: imageId, task: taskId });
      });
    },

    /**
     * Renews the task's lease, and so holds the lock, until the returned function is called;
     * `onLost` when another node took the task over. Stores only report progress between
     * stores: without the lease a long single copy would look abandoned.
     */
    keepAlive(task: Task, onLost: () => void): () => void {
      return deps.leases.keepAlive(task, onLost);
    },
  };
}
