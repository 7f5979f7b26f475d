/**
 * Task leases: several API nodes share one database, and each running import is owned by the
 * process that runs it. The owner renews the task's lease while bytes move (`keepAlive`);
 * a task whose lease ended belongs to a node that stopped (killed, partitioned, hung), and
 * any node fails it and returns its image to a consistent state, exactly as a restart does
 * (`sweep`, run at an interval by every node, and `recoverAtStart`). Start-up recovery fails
 * the work of this host's processes that are gone at once, and other work only once its lease
 * ended: a task a live node is running is never touched.
 *
 * Iris only: Glance has no owner on its tasks and leaves an abandoned import `processing`
 * until an import on the same image busts its lock an hour later.
 */
import type { AbandonedTasks, BlobStore, Clock, ImageRepository, TaskRepository } from '../../domain/ports.js';
import type { Task, TaskLease } from '../../domain/task.js';
import { recoverInterruptedImports } from './import-recovery.js';

/** Task message of an import whose process is gone (a restart found it, or kill -9). */
export const RESTART_MESSAGE = 'Import interrupted by restart';
/** Task message of an import whose node stopped renewing its lease. */
export const LEASE_MESSAGE = 'Import abandoned: the node running it stopped renewing its task lease';

export interface TaskLeaseDeps {
  readonly tasks: TaskRepository;
  readonly images: ImageRepository;
  /** The image stores (an interrupted import's partial copies are deleted). */
  readonly blobs: BlobStore;
  readonly clock: Clock;
  /** This process, as it is recorded in the leases it holds (`<node>-<pid>`). */
  readonly owner: string;
  /** How long a lease lasts without renewal ([iris] task_lease_seconds, in ms). */
  readonly leaseMs: number;
  /** Hours a failed task is kept. */
  readonly taskTimeToLiveHours: number;
  /** True for an owner known to be gone (a process of this host that no longer runs). */
  readonly isDeadOwner: (owner: string) => boolean;
  /** Drops an image's staged data. */
  readonly dropStaging: (imageId: string) => Promise<void>;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
  /** Told of every take-over (for the log). */
  readonly onTakeOver?: (reason: string, failed: readonly Task[], recovered: readonly string[]) => void;
}

export type TaskLeases = ReturnType<typeof createTaskLeases>;

export function createTaskLeases(deps: TaskLeaseDeps) {
  const { tasks, clock, owner, leaseMs } = deps;
  // Four renewals per lease: one late or failed beat does not lose it.
  const heartbeatMs = Math.max(1, Math.floor(leaseMs / 4));
  // A dead node's task is failed at most a lease and a half after its last renewal.
  const sweepMs = Math.max(1, Math.floor(leaseMs / 2));

  const leaseFrom = (now: Date): TaskLease => ({ owner, expires_at: new Date(now.getTime() + leaseMs) });

  /** Fails the matching abandoned tasks and recovers their images; returns the failed tasks. */
  async function takeOver(which: AbandonedTasks, message: string): Promise<Task[]> {
    const now = clock.now();
    const failed = await tasks.failAbandoned(which, message, now, new Date(now.getTime() + deps.taskTimeToLiveHours * 3600_000));
    if (failed.length === 0) return failed;
    const recovered = await recoverInterruptedImports(deps, failed);
    deps.onTakeOver?.(message, failed, recovered);
    return failed;
  }

  const sweep = (): Promise<Task[]> => takeOver({ leaseEndedBy: clock.now(), unleased: true }, LEASE_MESSAGE);
  let sweeping: Promise<unknown> | undefined;

  return {
    owner,
    heartbeatMs,
    sweepMs,
    /** The lease a task this process creates starts with. */
    leaseFrom,
    takeOver,

    /**
     * Renews the task's lease every heartbeat until the returned function is called. When a
     * renewal finds the lease gone (another node took the task over: this one was presumed
     * dead), `onLost` is called once so the import stops moving bytes for a failed task.
     */
    keepAlive(task: Task, onLost: () => void): () => void {
      let lost = false;
      const heartbeat = setInterval(() => {
        const now = clock.now();
        tasks.renewLease(task.id, leaseFrom(now), now).then(
          (held) => {
            if (held || lost) return;
            lost = true;
            clearInterval(heartbeat);
            onLost();
          },
          (e: unknown) => deps.onError('could not renew the lease of an import task', e, { task: task.id, image: task.image_id }),
        );
      }, heartbeatMs);
      heartbeat.unref();
      return () => clearInterval(heartbeat);
    },

    /**
     * Start-up: fails the tasks of this host's processes that are gone (a restart, a crashed
     * worker) and those without a lease, then every task whose lease ended, and recovers
     * their images.
     */
    async recoverAtStart(): Promise<Task[]> {
      const dead = (await tasks.leaseOwners()).filter((o) => o !== owner && deps.isDeadOwner(o));
      // Tasks without a lease were left by a release without leases: a restart interrupted them too.
      const restarted = await takeOver({ owners: dead, unleased: true }, RESTART_MESSAGE);
      const expired = await takeOver({ leaseEndedBy: clock.now() }, LEASE_MESSAGE);
      return [...restarted, ...expired];
    },

    /** One take-over pass over the tasks whose lease ended (every node runs it at an interval). */
    sweep,

    /** Runs `sweep` every half lease until the returned function is called; never two at once. */
    startSweeping(): () => void {
      const timer = setInterval(() => {
        if (sweeping !== undefined) return;
        sweeping = sweep()
          .catch((e: unknown) => deps.onError('could not take over abandoned import tasks', e, {}))
          .finally(() => {
            sweeping = undefined;
          });
      }, sweepMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
