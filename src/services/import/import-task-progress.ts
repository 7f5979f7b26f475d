/** The import task's progress: its message while it runs and its end (success or failure). */
import { Conflict } from '../../domain/errors.js';
import type { Clock, Notifier, TaskRepository } from '../../domain/ports.js';
import { taskContext, taskPayload } from '../../notify/event-payloads.js';
import { finishTask, isFinished, type Task } from '../../domain/task.js';

export interface ImportTaskProgressDeps {
  readonly tasks: TaskRepository;
  readonly clock: Clock;
  /** task.success / task.failure once the end is stored. */
  readonly notifier: Notifier;
  /** Hours a finished task is kept. */
  readonly taskTimeToLiveHours: number;
}

export type ImportTaskProgress = ReturnType<typeof createImportTaskProgress>;

export function createImportTaskProgress(deps: ImportTaskProgressDeps) {
  const { tasks, clock } = deps;
  return {
    /** Ends the task unless it already ended (a busted lock may have failed it meanwhile). */
    async finish(task: Task, status: 'success' | 'failure', message: string, result?: Record<string, unknown>): Promise<void> {
      const now = clock.now();
      const current = (await tasks.get(task.id)) ?? task;
      if (isFinished(current)) return;
      const finished = finishTask(current, status, { now, timeToLiveMs: deps.taskTimeToLiveHours * 3600_000, message, result });
      await tasks.save(finished, { fromStatus: current.status });
      deps.notifier.emit(`task.${status}`, taskPayload(finished, now), { context: taskContext(finished) });
    },

    /** Conflict when the task no longer runs (failed by a lock bust): the runner stops. */
    async setMessage(task: Task, message: string): Promise<void> {
      const current = await tasks.get(task.id);
      if (!current || current.status !== 'processing') throw new Conflict('Import task was aborted');
      await tasks.save({ ...current, message, updated_at: clock.now() }, { fromStatus: 'processing' });
    },
  };
}
