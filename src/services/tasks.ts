/**
 * Task use cases: Glance's (deprecated) tasks API — list, show, create — and the import tasks
 * of one image (GET /v2/images/{id}/tasks). Request parsing follows glance/api/v2/tasks.py
 * (RequestDeserializer, TasksController) and db/sqlalchemy/api.py (task_get_all,
 * tasks_get_by_image), in their order, with their messages.
 *
 * Who sees what: the tasks API is guarded by the one `tasks_api_access` rule (default
 * `role:admin`, so even Glance's project-less noauth admin, which has no roles, is refused);
 * behind it an admin sees every task and anyone else only their project's. The image's task
 * list is not part of the tasks API: whoever can see the image sees its tasks of their own
 * project (admins: all of them).
 *
 * A task whose expires_at has passed is treated as gone everywhere, as if purged: Glance
 * soft-deletes expired tasks lazily at the start of its list calls.
 */
import { randomUUID } from 'node:crypto';
import { recordedRequestId, type RequestContext } from '../domain/context.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import { taskSchema } from '../domain/image-schemas.js';
import { validateAgainstSchema } from '../domain/image-validation.js';
import { pyStr } from '../domain/py-format.js';
import {
  TASK_SORT_KEYS,
  type Clock,
  type IdGenerator,
  type Notifier,
  type SortDir,
  type TaskFilters,
  type TaskRepository,
  type TaskSortKey,
} from '../domain/ports.js';
import { finishTask, newTask, type Task, type TaskType } from '../domain/task.js';
import { taskPayload } from '../notify/event-payloads.js';
import type { ImageService } from './images.js';

/** The tasks API's one policy rule. */
export interface TaskPolicy {
  /** Glance's `tasks_api_access` (default `role:admin`). */
  tasksApiAccess(ctx: RequestContext): boolean;
}

/** Glance 25.1.0's default: `role:admin` — the role, not the context's admin flag. */
export const defaultTaskPolicy: TaskPolicy = {
  tasksApiAccess: (ctx) => ctx.roles.includes('admin'),
};

export interface TaskServiceDeps {
  readonly tasks: TaskRepository;
  /** task.create (as created) and task.failure (as stored) for POST /v2/tasks. */
  readonly notifier?: Notifier;
  readonly policy?: TaskPolicy;
  readonly clock: Clock;
  readonly limits: { readonly limitParamDefault: number; readonly apiLimitMax: number };
  /** GET /v2/images/{id}/tasks first shows the image (NotFound when the caller cannot see it). */
  readonly images: Pick<ImageService, 'show'>;
  /** Ids of tasks created with POST /v2/tasks. */
  readonly ids?: IdGenerator;
  /** Hours a finished task is kept ([task] task_time_to_live, default 48). */
  readonly taskTimeToLiveHours?: number;
  /**
   * Glance's import URI filter ([import_filtering_opts]) for legacy `import` tasks: whether
   * `uri` may be fetched. Default: every http(s) URI passes.
   */
  readonly importUriAllowed?: (uri: string) => boolean;
}

export interface TaskListResult {
  readonly tasks: Task[];
  /** Set when the page is full: the id to continue from (Glance's next_marker). */
  readonly nextMarker?: string;
}

export const NOT_RUN_MESSAGE = 'Tasks created with the tasks API are not run by Iris; use the image import API.';

const ACCESS_DENIED = 'You are not authorized to complete tasks_api_access action.';

export type TaskService = ReturnType<typeof createTaskService>;

export function createTaskService(deps: TaskServiceDeps) {
  const { tasks, clock } = deps;
  const policy = deps.policy ?? defaultTaskPolicy;
  const ids = deps.ids ?? { uuid: () => randomUUID() };
  const ttlMs = (deps.taskTimeToLiveHours ?? 48) * 3600_000;

  function enforceAccess(ctx: RequestContext): void {
    if (!policy.tasksApiAccess(ctx)) throw new Forbidden(ACCESS_DENIED);
  }

  /** Glance's _is_task_visible: admins see every task, others their project's. */
  function visible(ctx: RequestContext, task: Task): boolean {
    return ctx.isAdmin || (ctx.projectId !== null && ctx.projectId === task.owner);
  }

  function live(task: Task, now: Date): boolean {
    return task.expires_at === null || task.expires_at.getTime() > now.getTime();
  }

  /** A task the API created but nothing will run, failed with the reason Glance's executor would give. */
  function unrun(task: Task): Task {
    const now = clock.now();
    return finishTask(task, 'failure', { now, timeToLiveMs: ttlMs, message: unrunReason(task) });
  }

  return {
    /**
     * GET /v2/tasks. `readQuery` parses the query string; it is called only once the caller
     * passed tasks_api_access, as Glance answers 403 before any 400 of the query.
     * @throws Forbidden (tasks_api_access), Invalid (bad sort_dir, status, type, marker,
     *   limit, sort key; unknown marker), Forbidden (marker of another project's task).
     */
    async list(ctx: RequestContext, readQuery: () => TaskListRequest): Promise<TaskListResult> {
      enforceAccess(ctx);
      const req = readQuery();
      const limit = Math.min(deps.limits.apiLimitMax, req.limit ?? deps.limits.limitParamDefault);
      const now = clock.now();
      // Glance's task_get_all scopes non-admins with a project to that project.
      const owner = ctx.isAdmin || ctx.projectId === null ? null : ctx.projectId;
      if (req.marker !== undefined) {
        const marker = await tasks.get(req.marker);
        if (marker === null || !live(marker, now)) throw new Invalid(`Task with the given id ${req.marker} was not found`);
        if (!visible(ctx, marker)) throw new Forbidden(`Forbidding request, task ${req.marker} is not visible`);
      }
      // Glance checks the sort key only when it builds the query, after loading the marker.
      if (!(TASK_SORT_KEYS as readonly string[]).includes(req.sortKey)) throw new Invalid('Sort key supplied was not valid.');
      let page: Task[];
      try {
        page = await tasks.list({
          owner,
          filters: req.filters,
          sortKey: req.sortKey as TaskSortKey,
          sortDir: req.sortDir,
          limit,
          marker: req.marker,
          now,
        });
      } catch (e) {
        // The marker vanished (purged) between the check above and the query.
        if (e instanceof NotFound) throw new Invalid(e.message, { cause: e });
        throw e;
      }
      const full = page.length !== 0 && page.length === limit;
      return full ? { tasks: page, nextMarker: page[page.length - 1]!.id } : { tasks: page };
    },

    /**
     * GET /v2/tasks/{id}.
     * @throws Forbidden (tasks_api_access), NotFound (unknown, expired, or another project's).
     */
    async show(ctx: RequestContext, id: string): Promise<Task> {
      enforceAccess(ctx);
      const task = await tasks.get(id);
      if (task === null || !live(task, clock.now()) || !visible(ctx, task)) throw new NotFound(`Could not find task ${id}`);
      return task;
    },

    /**
     * DELETE /v2/tasks/{id}: never allowed, but the policy answers first (Glance checks
     * tasks_api_access, then refuses with 405 whatever the id).
     * @throws Forbidden (tasks_api_access).
     */
    authorizeDelete(ctx: RequestContext): void {
      enforceAccess(ctx);
    },

    /**
     * POST /v2/tasks. `readBody` is called only once the caller passed tasks_api_access, as
     * Glance enforces the policy before reading the body.
     * @throws Forbidden, Invalid (body, schema, legacy import URI), Error (bodies Glance
     *   answers with 500: JSON null, numbers, an `api_image_import` task with null input).
     */
    async create(ctx: RequestContext, readBody: () => Promise<unknown>): Promise<Task> {
      enforceAccess(ctx);
      const body = await readBody();
      // Glance's JSON deserializer takes only objects and arrays.
      if (typeof body !== 'object' || body === null) throw new Invalid('Unexpected body type. Expected list/dict.');
      for (const key of ['type', 'input']) {
        // Python's `key in body`: a key of an object, an item of an array.
        if (!(Array.isArray(body) ? body.includes(key) : Object.hasOwn(body, key))) throw new Invalid(`Task '${key}' is required`);
      }
      validateAgainstSchema(body, { ...taskSchema(), additionalProperties: false });
      const { type, input } = body as { type: TaskType; input: Record<string, unknown> | null };
      if (type === 'import') validateLegacyImportUri((input ?? {}).import_from, deps.importUriAllowed);
      if (input === null) throw new Error("'NoneType' object has no attribute 'get'");
      const now = clock.now();
      const imageId = input.image_id;
      const task = newTask({
        id: ids.uuid(),
        type,
        owner: ownerOf(ctx),
        image_id: imageId === undefined || imageId === null ? null : pyStr(imageId),
        request_id: recordedRequestId(ctx),
        user_id: ctx.userId,
        created_at: now,
        input,
      });
      // Iris has no executor for these: the task is stored failed at once with the reason
      // Glance's executor gives for a bad input, or with NOT_RUN_MESSAGE. One write: a pending
      // row without a lease would be another node's to fail (task-lease.ts).
      const failed = unrun(task);
      await tasks.add(failed);
      deps.notifier?.emit('task.create', taskPayload(task, now), { context: ctx });
      deps.notifier?.emit('task.failure', taskPayload(failed, now), { context: ctx });
      // Glance answers with the task as created; its executor runs afterwards.
      return task;
    },

    /**
     * GET /v2/images/{id}/tasks: the image's unexpired tasks the caller may see.
     * @throws NotFound with webob's stock text when the image is not visible (Glance raises
     *   a bare HTTPNotFound for NotFound and Forbidden alike).
     */
    async listForImage(ctx: RequestContext, imageId: string): Promise<Task[]> {
      try {
        await deps.images.show(ctx, imageId);
      } catch (e) {
        if (e instanceof NotFound || e instanceof Forbidden) throw new NotFound('The resource could not be found.', { cause: e });
        throw e;
      }
      const now = clock.now();
      return (await tasks.listForImage(imageId)).filter((t) => live(t, now) && visible(ctx, t));
    },
  };
}

/** The project a new task belongs to; Glance's tasks.owner is NOT NULL (a project-less admin gets a 500). */
function ownerOf(ctx: RequestContext): string {
  if (ctx.projectId === null) throw new Error('NOT NULL constraint failed: tasks.owner');
  return ctx.projectId;
}

/** GET /v2/tasks as the HTTP layer parsed it (src/http/task-list-query.ts). */
export interface TaskListRequest {
  readonly limit?: number;
  readonly marker?: string;
  /** Not yet checked: Glance validates it only when building the query (after the marker). */
  readonly sortKey: string;
  readonly sortDir: SortDir;
  readonly filters: TaskFilters;
}

// ----------------------------------------------------------------- create --

/** glance.common.scripts.utils.validate_legacy_import_from_uri. */
function validateLegacyImportUri(location: unknown, allowed: ((uri: string) => boolean) | undefined): void {
  if (!location) throw new Invalid(`Invalid location: ${location === undefined ? 'None' : pyStr(location)}`);
  if (typeof location !== 'string') throw new Error(`'${typeof location}' object has no attribute 'startswith'`);
  if (location.startsWith('http://') || location.startsWith('https://')) {
    if (allowed !== undefined && !allowed(location)) {
      throw new Invalid(`URI for legacy import task does not pass filtering: ${location}`);
    }
    return;
  }
  if (location.startsWith('file:///') || location.startsWith('filesystem:///')) {
    throw new Invalid('File based imports are not allowed. Please use a non-local source of image data.');
  }
  throw new Invalid("The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']");
}

/** What Glance's executor reports for an input it cannot use (unpack_task_input), else ours. */
function unrunReason(task: Task): string {
  const input = task.input ?? {};
  if (task.type === 'api_image_import') {
    if (Object.keys(input).length === 0) return 'Input to api_image_import task is empty.';
    if (!Object.hasOwn(input, 'image_id')) return "Missing required 'image_id' field";
    return NOT_RUN_MESSAGE;
  }
  for (const key of ['import_from', 'import_from_format', 'image_properties']) {
    if (!Object.hasOwn(input, key)) return `Input does not contain '${key}' field`;
  }
  return NOT_RUN_MESSAGE;
}
