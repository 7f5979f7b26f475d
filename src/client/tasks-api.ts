/** `client.tasks`: the records of asynchronous imports (`/v2/tasks`). */
import type { Transport } from './http-transport.js';
import type { ListAllTasksOptions, ListTasksPageOptions, Task, TaskFilters, TaskPage } from './import-types.js';

export interface TasksApi {
  /**
   * One page of tasks the caller may see.
   *
   * @example const { tasks, next } = await client.tasks.list({ status: 'failure', limit: 20 });
   */
  list(options?: ListTasksPageOptions): Promise<TaskPage>;
  /**
   * Every task matching the options, page after page, following Glance's `next` links.
   *
   * @example for await (const task of client.tasks.listAll({ type: 'api_image_import' })) console.log(task.id, task.status);
   */
  listAll(options?: ListAllTasksOptions): AsyncIterable<Task>;
  /**
   * One task; IrisApiError 404 when it does not exist or belongs to another project.
   *
   * @example const task = await client.tasks.get(taskId);
   */
  get(id: string, options?: { signal?: AbortSignal }): Promise<Task>;
}

/**
 * The query of `GET /v2/tasks`.
 *
 * @example tasksQuery({ status: 'success', sortKey: 'status', sortDir: 'desc' }, { limit: 20 }).toString()
 *   // 'status=success&sort_key=status&sort_dir=desc&limit=20'
 */
export function tasksQuery(filters: TaskFilters, paging: { readonly limit?: number; readonly marker?: string } = {}): URLSearchParams {
  const q = new URLSearchParams();
  if (filters.type !== undefined) q.append('type', filters.type);
  if (filters.status !== undefined) q.append('status', filters.status);
  if (filters.sortKey !== undefined) q.append('sort_key', filters.sortKey);
  if (filters.sortDir !== undefined) q.append('sort_dir', filters.sortDir);
  if (paging.limit !== undefined) q.append('limit', String(paging.limit));
  if (paging.marker !== undefined) q.append('marker', paging.marker);
  return q;
}

export function createTasksApi(transport: Transport): TasksApi {
  return {
    async list(options = {}) {
      const { limit, marker, signal, ...filters } = options;
      const page = await transport.json<{ tasks: Task[]; next?: string; first?: string }>({
        method: 'GET',
        path: '/v2/tasks',
        query: tasksQuery(filters, { limit, marker }),
        idempotent: true,
        signal,
      });
      return { tasks: page.tasks, next: page.next, first: page.first };
    },

    async *listAll(options = {}) {
      const { pageSize, limit, signal, ...filters } = options;
      let remaining = limit ?? Infinity;
      if (remaining <= 0) return;
      const first = pageSize !== undefined ? Math.min(pageSize, remaining) : Number.isFinite(remaining) ? remaining : undefined;
      let request: { path: string; query?: URLSearchParams } = { path: '/v2/tasks', query: tasksQuery(filters, { limit: first }) };
      for (;;) {
        const page = await transport.json<{ tasks: Task[]; next?: string }>({ method: 'GET', ...request, idempotent: true, signal });
        for (const task of page.tasks) {
          yield task;
          if (--remaining <= 0) return;
        }
        // Glance's `next` carries the filters, the sort and the marker.
        if (page.next === undefined || page.tasks.length === 0) return;
        request = { path: page.next };
      }
    },

    get: (id, options = {}) =>
      transport.json<Task>({ method: 'GET', path: `/v2/tasks/${encodeURIComponent(id)}`, idempotent: true, signal: options.signal }),
  };
}
