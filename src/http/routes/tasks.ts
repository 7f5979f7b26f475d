/**
 * /v2/tasks (Glance's deprecated tasks API) and /v2/images/{id}/tasks. Thin: parse, call,
 * render; the views are Glance's, key for key and in its order.
 */
import { NotFound } from '../../domain/errors.js';
import type { Task } from '../../domain/task.js';
import { renderFault } from '../faults.js';
import { parseTaskListQuery } from '../task-list-query.js';
import { isoTime } from '../image-view.js';
import { baseUrl, queryPairs, readJsonBody, sendJson, type HttpDeps } from '../http-context.js';
import type { RouteTable } from '../route-table.js';

type IdParams = { id: string };

/**
 * One task as GET /v2/tasks/{id} and POST /v2/tasks answer it (Glance's _format_task): the
 * optional fields come last and only when set.
 */
export function taskView(task: Task): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: task.id,
    input: task.input,
    type: task.type,
    status: task.status,
    owner: task.owner,
    message: task.message,
    result: task.result,
    created_at: isoTime(task.created_at),
    updated_at: isoTime(task.updated_at),
    self: `/v2/tasks/${task.id}`,
    schema: '/v2/schemas/task',
  };
  if (task.image_id) view.image_id = task.image_id;
  if (task.request_id) view.request_id = task.request_id;
  if (task.user_id) view.user_id = task.user_id;
  if (task.expires_at) view.expires_at = isoTime(task.expires_at);
  return view;
}

/** One entry of GET /v2/tasks (Glance's _format_task_stub: no input, result or message). */
export function taskStubView(task: Task): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    created_at: isoTime(task.created_at),
    updated_at: isoTime(task.updated_at),
    self: `/v2/tasks/${task.id}`,
    schema: '/v2/schemas/task',
  };
  if (task.expires_at) view.expires_at = isoTime(task.expires_at);
  return view;
}

/** oslo's jsonutils.to_primitive of a datetime: microseconds, no zone. */
function pyDatetime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000');
}

/**
 * One entry of GET /v2/images/{id}/tasks: Glance serializes the database dict of the task
 * (_task_format with its task_info) as is, so the soft-delete columns show and times keep
 * their microseconds.
 */
export function imageTaskView(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    expires_at: task.expires_at === null ? null : pyDatetime(task.expires_at),
    created_at: pyDatetime(task.created_at),
    updated_at: pyDatetime(task.updated_at),
    // Only live tasks are listed.
    deleted_at: null,
    deleted: false,
    image_id: task.image_id,
    request_id: task.request_id,
    user_id: task.user_id,
    input: task.input,
    result: task.result,
    message: task.message,
  };
}

/** urlencode as Python's: the characters quote_plus keeps, `+` for spaces. */
function pyUrlencode(pairs: readonly (readonly [string, string])[]): string {
  const enc = (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

const DELETE_REFUSAL =
  'This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.';

export function taskRoutes(deps: HttpDeps): RouteTable {
  const { tasks } = deps;
  // Glance has no other route for /v2/images/{id}/tasks: any other method is an unknown path.
  const unknownPath = async () => {
    throw new NotFound('The resource could not be found.');
  };

  return [
    {
      path: '/v2/tasks',
      methods: {
        GET: async (req, reply) => {
          const pairs = queryPairs(req);
          const result = await tasks.list(deps.contextOf(req), () => parseTaskListQuery(pairs));
          // Links as Glance builds them: dict(params) keeps each key once, where it first
          // appears, with its last value; the marker goes last.
          const params = new Map<string, string>();
          for (const [k, v] of pairs) if (k !== 'marker') params.set(k, v);
          const query = pyUrlencode([...params]);
          const body: Record<string, unknown> = {
            tasks: result.tasks.map(taskStubView),
            first: query ? `/v2/tasks?${query}` : '/v2/tasks',
            schema: '/v2/schemas/tasks',
          };
          if (result.nextMarker !== undefined) {
            params.set('marker', result.nextMarker);
            body.next = `/v2/tasks?${pyUrlencode([...params])}`;
          }
          return sendJson(reply, 200, body);
        },
        POST: async (req, reply) => {
          const task = await tasks.create(deps.contextOf(req), () => readJsonBody(deps.bodies, req));
          reply.header('location', `${baseUrl(deps.config, req)}/v2/tasks/${task.id}`);
          return sendJson(reply, 201, taskView(task));
        },
      },
    },
    {
      path: '/v2/tasks/:id',
      methods: {
        GET: async (req, reply) => {
          const { id } = req.params as IdParams;
          return sendJson(reply, 200, taskView(await tasks.show(deps.contextOf(req), id)));
        },
        DELETE: async (req, reply) => {
          tasks.authorizeDelete(deps.contextOf(req));
          // Glance's own 405: the reason alone as the body template, and only GET allowed.
          const fault = renderFault(
            { status: 405, headers: { Allow: 'GET' }, template: DELETE_REFUSAL },
            req.headers.accept,
          );
          for (const [k, v] of Object.entries(fault.headers)) reply.header(k, v);
          return reply.code(405).header('content-type', fault.contentType).send(Buffer.from(fault.body));
        },
      },
    },
    {
      path: '/v2/images/:id/tasks',
      methods: {
        GET: async (req, reply) => {
          const { id } = req.params as IdParams;
          const list = await tasks.listForImage(deps.contextOf(req), id);
          return sendJson(reply, 200, { tasks: list.map(imageTaskView) });
        },
        POST: unknownPath,
        PUT: unknownPath,
        PATCH: unknownPath,
        DELETE: unknownPath,
      },
    },
  ];
}
