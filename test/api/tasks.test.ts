/**
 * The tasks API (GET/POST /v2/tasks, GET/DELETE /v2/tasks/{id}) and GET /v2/images/{id}/tasks
 * over real HTTP. Statuses, messages and views are the peer Glance 25.1.0's (legacy defaults:
 * the tasks API is `role:admin` only).
 *
 * Tasks are seeded into the database of a stopped Iris (nothing else creates them yet), which
 * is then started again: that restart also exercises the recovery of unfinished tasks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Task } from '../../src/domain/task.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createTaskRepository } from '../../src/persistence/task-repository.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, type HttpAnswer } from '../helpers/http.js';

const identity = (project: string) => ({ 'X-Project-Id': project, 'X-Roles': 'member,reader', 'X-User-Id': `user-${project}` });
const A = identity('project-a');
const B = identity('project-b');
const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin,member', 'X-User-Id': 'admin' };
const DENIED = 'You are not authorized to complete tasks_api_access action.';
const HOUR = 3600_000;

let iris: IrisProcess;
let base: string;
let dataDir: string;
let imageA: string;
let imageB: string;
/** Wall-clock moments around the restart that fails the interrupted tasks. */
let restartedAfter: number;
let restartedBefore: number;
const seeded: Record<string, Task> = {};

function expectFault(r: HttpAnswer, status: number, message: string): void {
  assert.equal(r.status, status, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const pyTime = (d: Date) => d.toISOString().replace(/Z$/, '000');

function task(id: string, overrides: Partial<Task>): Task {
  const at = new Date(Date.now() - HOUR);
  return {
    id,
    type: 'api_image_import',
    status: 'success',
    owner: 'project-a',
    image_id: null,
    request_id: `req-${id.slice(0, 8)}`,
    user_id: 'user-project-a',
    expires_at: new Date(Date.now() + 47 * HOUR),
    created_at: at,
    updated_at: at,
    input: null,
    result: null,
    message: '',
    ...overrides,
  };
}

before(async () => {
  const first = await startIris({ keepDataDir: true });
  dataDir = first.dataDir;
  try {
    for (const [headers, set] of [[A, (id: string) => (imageA = id)], [B, (id: string) => (imageB = id)]] as const) {
      const r = await json('POST', `${first.baseUrl}/v2/images`, { name: 'img', disk_format: 'raw', container_format: 'bare' }, headers);
      assert.equal(r.status, 201, describe(r));
      set(r.body.id as string);
    }
  } finally {
    await first.stop();
  }

  const t0 = Date.now() - 2 * HOUR;
  const at = (s: number) => new Date(t0 + s * 1000);
  const input = (image: string) => ({ image_id: image, import_req: { method: { name: 'glance-direct' } }, backend: ['local'] });
  const tasks = [
    task('aaaaaaaa-0000-4000-8000-000000000001', {
      image_id: imageA, created_at: at(1), updated_at: at(5), input: input(imageA), result: { image_id: imageA }, message: 'Copied 0 MiB',
    }),
    task('aaaaaaaa-0000-4000-8000-000000000002', {
      image_id: imageA, status: 'processing', created_at: at(2), updated_at: at(2), expires_at: null, input: input(imageA), message: 'Copied 10 MiB',
    }),
    task('bbbbbbbb-0000-4000-8000-000000000003', {
      owner: 'project-b', user_id: 'user-project-b', image_id: imageB, created_at: at(3), updated_at: at(3), input: input(imageB),
    }),
    task('bbbbbbbb-0000-4000-8000-000000000004', {
      owner: 'project-b', type: 'import', status: 'pending', created_at: at(4), updated_at: at(4), expires_at: null, user_id: null, request_id: null,
    }),
    // Expired: purged at start, so never listed.
    task('aaaaaaaa-0000-4000-8000-000000000005', { image_id: imageA, created_at: at(0), expires_at: new Date(Date.now() - HOUR) }),
  ];
  const database = openDatabase({ sqlitePath: join(dataDir, 'iris.sqlite') });
  try {
    const repo = createTaskRepository(database.db);
    for (const t of tasks) {
      await repo.add(t);
      seeded[t.id] = t;
    }
  } finally {
    await database.close();
  }

  restartedAfter = Date.now();
  iris = await startIris({ dataDir });
  restartedBefore = Date.now();
  base = iris.baseUrl;
});

after(async () => {
  await iris?.stop();
  if (dataDir) {
    const { rm } = await import('node:fs/promises');
    await rm(dataDir, { recursive: true, force: true });
  }
});

const ids = (r: HttpAnswer) => (r.body.tasks as { id: string }[]).map((t) => t.id);
const list = (query: string, headers: Record<string, string> = ADMIN) => json('GET', `${base}/v2/tasks${query}`, undefined, headers);

test('a restart fails the tasks it interrupted; expired tasks are purged', async () => {
  for (const id of ['aaaaaaaa-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000004']) {
    const r = await json('GET', `${base}/v2/tasks/${id}`, undefined, ADMIN);
    assert.equal(r.status, 200, describe(r));
    assert.equal(r.body.status, 'failure');
    assert.equal(r.body.message, 'Import interrupted by restart');
    // Finished tasks expire task_time_to_live (48 h) after they end.
    // The restart happened while startIris ran; expires_at has whole seconds.
    const expires = Date.parse(r.body.expires_at as string);
    assert.ok(expires >= restartedAfter + 48 * HOUR - 1000 && expires <= restartedBefore + 48 * HOUR, describe(r));
  }
  const gone = await json('GET', `${base}/v2/tasks/aaaaaaaa-0000-4000-8000-000000000005`, undefined, ADMIN);
  expectFault(gone, 404, 'Could not find task aaaaaaaa-0000-4000-8000-000000000005');
});

test('GET /v2/tasks: admin sees every project, newest first, in Glance’s stub view', async () => {
  const r = await list('');
  assert.equal(r.status, 200, describe(r));
  assert.deepEqual(ids(r), [
    'bbbbbbbb-0000-4000-8000-000000000004',
    'bbbbbbbb-0000-4000-8000-000000000003',
    'aaaaaaaa-0000-4000-8000-000000000002',
    'aaaaaaaa-0000-4000-8000-000000000001',
  ]);
  assert.deepEqual(Object.keys(r.body), ['tasks', 'first', 'schema']);
  assert.equal(r.body.first, '/v2/tasks');
  assert.equal(r.body.schema, '/v2/schemas/tasks');
  const t = seeded['bbbbbbbb-0000-4000-8000-000000000003']!;
  assert.deepEqual(r.body.tasks[1], {
    id: t.id,
    type: 'api_image_import',
    status: 'success',
    owner: 'project-b',
    created_at: isoSeconds(t.created_at),
    updated_at: isoSeconds(t.updated_at),
    self: `/v2/tasks/${t.id}`,
    schema: '/v2/schemas/task',
    expires_at: isoSeconds(t.expires_at!),
  });
  assert.deepEqual(Object.keys(r.body.tasks[1]), ['id', 'type', 'status', 'owner', 'created_at', 'updated_at', 'self', 'schema', 'expires_at']);
  // The whole body is rendered as Python's json.dumps does.
  assert.match(r.text, /^\{"tasks": \[\{"id": "/);
});

test('GET /v2/tasks: paging with limit, marker and next links', async () => {
  const all = ids(await list(''));
  const seen: string[] = [];
  let url = '/v2/tasks?limit=1&sort_dir=desc';
  for (;;) {
    const r = await json('GET', `${base}${url}`, undefined, ADMIN);
    assert.equal(r.status, 200, describe(r));
    seen.push(...ids(r));
    assert.equal(r.body.first, '/v2/tasks?limit=1&sort_dir=desc');
    if (r.body.next === undefined) break;
    assert.equal(r.body.next, `/v2/tasks?limit=1&sort_dir=desc&marker=${seen[seen.length - 1]}`);
    url = r.body.next as string;
  }
  assert.deepEqual(seen, all);

  // Full page at the end: a next link to an empty page, as Glance.
  const two = await list('?limit=2&marker=bbbbbbbb-0000-4000-8000-000000000003');
  assert.deepEqual(ids(two), all.slice(2));
  assert.equal(two.body.next, '/v2/tasks?limit=2&marker=aaaaaaaa-0000-4000-8000-000000000001');
  const last = await json('GET', `${base}${two.body.next}`, undefined, ADMIN);
  assert.deepEqual(ids(last), []);
  assert.equal(last.body.next, undefined);

  const zero = await list('?limit=0');
  assert.deepEqual(zero.body, { tasks: [], first: '/v2/tasks?limit=0', schema: '/v2/schemas/tasks' });
  // dict(params): each key once, its last value; spaces as '+'.
  const odd = await list('?foo=a%20b&limit=5&foo=c*~');
  assert.equal(odd.body.first, '/v2/tasks?foo=c%2A~&limit=5');
});

test('GET /v2/tasks: sort keys, directions and filters', async () => {
  assert.deepEqual(ids(await list('?sort_key=owner&sort_dir=asc')), [
    'aaaaaaaa-0000-4000-8000-000000000001',
    'aaaaaaaa-0000-4000-8000-000000000002',
    'bbbbbbbb-0000-4000-8000-000000000003',
    'bbbbbbbb-0000-4000-8000-000000000004',
  ]);
  assert.deepEqual(ids(await list('?status=failure')), ['bbbbbbbb-0000-4000-8000-000000000004', 'aaaaaaaa-0000-4000-8000-000000000002']);
  assert.deepEqual(ids(await list('?type=import')), ['bbbbbbbb-0000-4000-8000-000000000004']);
  assert.deepEqual(ids(await list('?owner=project-a&sort_dir=asc')), ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002']);
  assert.deepEqual(ids(await list(`?image_id=${imageB}`)), ['bbbbbbbb-0000-4000-8000-000000000003']);
  // Empty status: no check, and no task has that status. Unknown parameters are ignored.
  assert.deepEqual(ids(await list('?status=')), []);
  assert.equal(ids(await list('?message=x&deleted=true')).length, 4);
  assert.deepEqual(ids(await list('?created_at=yesterday')), []);
});

test('GET /v2/tasks: Glance’s 400s', async () => {
  expectFault(await list('?sort_key=bogus'), 400, 'Sort key supplied was not valid.');
  expectFault(await list('?sort_key='), 400, 'Sort key supplied was not valid.');
  expectFault(await list('?sort_dir=up'), 400, 'Invalid sort direction: up');
  expectFault(await list('?sort_dir=ASC'), 400, 'Invalid sort direction: ASC');
  expectFault(await list('?status=bogus'), 400, 'Invalid status value: bogus');
  // Only the legacy type passes the check, though import tasks are api_image_import.
  expectFault(await list('?type=api_image_import'), 400, 'Invalid type value: api_image_import');
  expectFault(await list('?limit=abc'), 400, 'limit param must be an integer');
  expectFault(await list('?limit=2.5'), 400, 'limit param must be an integer');
  expectFault(await list('?limit='), 400, 'limit param must be an integer');
  expectFault(await list('?limit=-1'), 400, 'limit param must be positive');
  expectFault(await list('?marker=abc'), 400, 'Invalid marker format');
  expectFault(await list('?marker='), 400, 'Task with the given id  was not found');
  const unknown = '11111111-1111-1111-1111-111111111111';
  expectFault(await list(`?marker=${unknown}`), 400, `Task with the given id ${unknown} was not found`);
  // The expired (purged) task is no marker either.
  expectFault(await list('?marker=aaaaaaaa-0000-4000-8000-000000000005'), 400, 'Task with the given id aaaaaaaa-0000-4000-8000-000000000005 was not found');
  // Checked in Glance's order: sort_dir before status before marker.
  expectFault(await list('?marker=abc&status=bogus&sort_dir=x'), 400, 'Invalid sort direction: x');
});

test('the tasks API is for admins only (tasks_api_access = role:admin)', async () => {
  const id = 'aaaaaaaa-0000-4000-8000-000000000001';
  expectFault(await list('', A), 403, DENIED);
  expectFault(await json('GET', `${base}/v2/tasks/${id}`, undefined, A), 403, DENIED);
  expectFault(await json('GET', `${base}/v2/tasks/nope`, undefined, A), 403, DENIED);
  expectFault(await json('DELETE', `${base}/v2/tasks/${id}`, undefined, A), 403, DENIED);
  expectFault(await json('POST', `${base}/v2/tasks`, { type: 'import', input: {} }, A), 403, DENIED);
  // Glance's project-less noauth admin has no roles, so the rule refuses it too.
  expectFault(await json('GET', `${base}/v2/tasks`), 403, DENIED);
  // An admin role in any project passes.
  assert.equal((await list('', { 'X-Project-Id': 'elsewhere', 'X-Roles': 'admin' })).status, 200);
});

test('GET /v2/tasks/{id}: the full view in Glance’s order; unknown ids', async () => {
  const t = seeded['aaaaaaaa-0000-4000-8000-000000000001']!;
  const r = await json('GET', `${base}/v2/tasks/${t.id}`, undefined, ADMIN);
  assert.equal(r.status, 200, describe(r));
  assert.deepEqual(r.body, {
    id: t.id,
    input: t.input,
    type: 'api_image_import',
    status: 'success',
    owner: 'project-a',
    message: 'Copied 0 MiB',
    result: { image_id: imageA },
    created_at: isoSeconds(t.created_at),
    updated_at: isoSeconds(t.updated_at),
    self: `/v2/tasks/${t.id}`,
    schema: '/v2/schemas/task',
    image_id: imageA,
    request_id: t.request_id,
    user_id: 'user-project-a',
    expires_at: isoSeconds(t.expires_at!),
  });
  assert.deepEqual(Object.keys(r.body), [
    'id', 'input', 'type', 'status', 'owner', 'message', 'result', 'created_at', 'updated_at', 'self', 'schema',
    'image_id', 'request_id', 'user_id', 'expires_at',
  ]);
  // Optional fields are left out when empty.
  const bare = await json('GET', `${base}/v2/tasks/bbbbbbbb-0000-4000-8000-000000000004`, undefined, ADMIN);
  assert.deepEqual(Object.keys(bare.body), [
    'id', 'input', 'type', 'status', 'owner', 'message', 'result', 'created_at', 'updated_at', 'self', 'schema', 'expires_at',
  ]);
  assert.equal(bare.body.input, null);
  expectFault(await json('GET', `${base}/v2/tasks/nope`, undefined, ADMIN), 404, 'Could not find task nope');
});

test('DELETE /v2/tasks/{id} is refused with Glance’s own 405', async () => {
  const r = await json('DELETE', `${base}/v2/tasks/nope`, undefined, ADMIN);
  assert.equal(r.status, 405, describe(r));
  assert.equal(r.headers.get('allow'), 'GET');
  assert.deepEqual(r.body, {
    message:
      'This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.',
    code: '405 Method Not Allowed',
    title: 'Method Not Allowed',
  });
  const reason =
    'This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.';
  const plain = await fetch(`${base}/v2/tasks/nope`, { method: 'DELETE', headers: { ...ADMIN, Accept: 'text/plain' } });
  assert.equal(await plain.text(), `405 Method Not Allowed\n\n${reason}`);
  const html = await fetch(`${base}/v2/tasks/nope`, { method: 'DELETE', headers: { ...ADMIN, Accept: '*/*' } });
  assert.equal(
    await html.text(),
    `<html>\n <head>\n  <title>405 Method Not Allowed</title>\n </head>\n <body>\n  <h1>405 Method Not Allowed</h1>\n  ${reason}\n </body>\n</html>`,
  );
  const put = await json('PUT', `${base}/v2/tasks/nope`, undefined, ADMIN);
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, DELETE');
});

test('POST /v2/tasks: body checks, legacy import URIs, and a created task', async () => {
  const post = (body: unknown) => json('POST', `${base}/v2/tasks`, body, ADMIN);
  const noBody = await json('POST', `${base}/v2/tasks`, undefined, ADMIN);
  expectFault(noBody, 400, 'Body expected in request.');
  expectFault(await post('{'), 400, 'Malformed JSON in request body.');
  expectFault(await post([]), 400, "Task 'type' is required");
  for (const scalar of ['null', '5', '"type input"', 'true']) {
    expectFault(await post(scalar), 400, 'Unexpected body type. Expected list/dict.');
  }
  // Glance fails on these (500): a null input for api_image_import, a caller without a project.
  assert.equal((await post({ type: 'api_image_import', input: null })).status, 500);
  assert.equal((await json('POST', `${base}/v2/tasks`, { type: 'api_image_import', input: {} }, { 'X-Roles': 'admin' })).status, 500);
  expectFault(await post({ input: {} }), 400, "Task 'type' is required");
  expectFault(await post({ type: 'import' }), 400, "Task 'input' is required");
  expectFault(
    await post({ type: 'bogus', input: {} }),
    400,
    "Provided object does not match schema 'task': 'bogus' is not one of ['import', 'api_image_import']\n\n" +
      "Failed validating 'enum' in schema['properties']['type']:\n" +
      "    {'description': 'The type of task represented by this content',\n" +
      "     'enum': ['import', 'api_image_import'],\n" +
      "     'type': 'string'}\n\n" +
      "On instance['type']:\n" +
      "    'bogus'",
  );
  const extra = await post({ type: 'import', input: {}, foo: 1 });
  assert.equal(extra.status, 400);
  assert.match(extra.body.message as string, /^Provided object does not match schema 'task': Additional properties are not allowed \('foo' was unexpected\)/);
  expectFault(await post({ type: 'import', input: {} }), 400, 'Invalid location: None');
  expectFault(await post({ type: 'import', input: null }), 400, 'Invalid location: None');
  expectFault(
    await post({ type: 'import', input: { import_from: 'file:///etc/passwd' } }),
    400,
    'File based imports are not allowed. Please use a non-local source of image data.',
  );
  expectFault(
    await post({ type: 'import', input: { import_from: 'http://127.0.0.1:9/x' } }),
    400,
    'URI for legacy import task does not pass filtering: http://127.0.0.1:9/x',
  );
  expectFault(
    await post({ type: 'import', input: { import_from: 'ftp://x/y' } }),
    400,
    "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']",
  );

  const created = await post({ type: 'api_image_import', input: {} });
  assert.equal(created.status, 201, describe(created));
  const id = created.body.id as string;
  assert.equal(created.headers.get('location'), `${base}/v2/tasks/${id}`);
  assert.deepEqual(Object.keys(created.body), [
    'id', 'input', 'type', 'status', 'owner', 'message', 'result', 'created_at', 'updated_at', 'self', 'schema', 'request_id', 'user_id',
  ]);
  assert.deepEqual(
    { ...created.body, created_at: undefined, updated_at: undefined, request_id: undefined },
    {
      id, input: {}, type: 'api_image_import', status: 'pending', owner: 'project-admin', message: '', result: null,
      created_at: undefined, updated_at: undefined, self: `/v2/tasks/${id}`, schema: '/v2/schemas/task', request_id: undefined, user_id: 'admin',
    },
  );
  assert.equal(created.body.request_id, created.headers.get('x-openstack-request-id'));
  // Nothing runs it: it fails with the reason Glance's executor gives for an empty input.
  const shown = await json('GET', `${base}/v2/tasks/${id}`, undefined, ADMIN);
  assert.equal(shown.body.status, 'failure');
  assert.equal(shown.body.message, 'Input to api_image_import task is empty.');
  assert.ok(shown.body.expires_at);
});

test('GET /v2/images/{id}/tasks: the image’s tasks for whoever sees the image', async () => {
  const mine = await json('GET', `${base}/v2/images/${imageA}/tasks`, undefined, A);
  assert.equal(mine.status, 200, describe(mine));
  assert.deepEqual(Object.keys(mine.body), ['tasks']);
  assert.deepEqual(ids(mine), ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002']);
  const t = seeded['aaaaaaaa-0000-4000-8000-000000000001']!;
  assert.deepEqual(mine.body.tasks[0], {
    id: t.id,
    type: 'api_image_import',
    status: 'success',
    owner: 'project-a',
    expires_at: pyTime(t.expires_at!),
    created_at: pyTime(t.created_at),
    updated_at: pyTime(t.updated_at),
    deleted_at: null,
    deleted: false,
    image_id: imageA,
    request_id: t.request_id,
    user_id: 'user-project-a',
    input: t.input,
    result: { image_id: imageA },
    message: 'Copied 0 MiB',
  });
  assert.deepEqual(Object.keys(mine.body.tasks[0]), [
    'id', 'type', 'status', 'owner', 'expires_at', 'created_at', 'updated_at', 'deleted_at', 'deleted',
    'image_id', 'request_id', 'user_id', 'input', 'result', 'message',
  ]);
  assert.match(mine.body.tasks[0].created_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  assert.equal(mine.body.tasks[1].status, 'failure');

  // Another project cannot see the private image: webob's bare 404.
  expectFault(await json('GET', `${base}/v2/images/${imageA}/tasks`, undefined, B), 404, 'The resource could not be found.');
  expectFault(
    await json('GET', `${base}/v2/images/11111111-1111-1111-1111-111111111111/tasks`, undefined, A),
    404,
    'The resource could not be found.',
  );
  // Admins see the image and all its tasks; no tasks API policy applies here.
  assert.deepEqual(ids(await json('GET', `${base}/v2/images/${imageB}/tasks`, undefined, ADMIN)), ['bbbbbbbb-0000-4000-8000-000000000003']);
  assert.deepEqual(ids(await json('GET', `${base}/v2/images/${imageB}/tasks`)), ['bbbbbbbb-0000-4000-8000-000000000003']);

  // A project that sees a shared image does not see the owner's tasks.
  const shared = await json('PATCH', `${base}/v2/images/${imageB}`, [{ op: 'replace', path: '/visibility', value: 'shared' }], {
    ...B,
    'Content-Type': 'application/openstack-images-v2.1-json-patch',
  });
  assert.equal(shared.status, 200, describe(shared));
  assert.equal((await json('POST', `${base}/v2/images/${imageB}/members`, { member: 'project-a' }, B)).status, 200);
  const member = await json('GET', `${base}/v2/images/${imageB}/tasks`, undefined, A);
  assert.equal(member.status, 200, describe(member));
  assert.deepEqual(member.body, { tasks: [] });

  // The path has no other method: Glance answers 404.
  expectFault(await json('POST', `${base}/v2/images/${imageA}/tasks`, {}, A), 404, 'The resource could not be found.');
});
