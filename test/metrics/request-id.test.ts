/**
 * Request ids over real HTTP: Iris's own id on every /v2 answer, the caller's global request
 * id (oslo.middleware's `req-<uuid>` form only) in every log line of the request, and the ids
 * a task records (request_id and user_id, as Glance fills them).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { metricsUrlOf, scrape } from '../helpers/metrics-scrape.js';
import { valueOf } from '../helpers/prometheus-text.js';

const USER = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member', 'X-User-Id': 'user-a' };
const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let iris: IrisProcess;
let base: string;

before(async () => {
  // JSON log lines (stdout is a pipe); debug is not needed: the access line is at info.
  iris = await startIris();
  base = iris.baseUrl;
});
after(() => iris?.stop());

/** The JSON log lines carrying `req_id` (waits until at least one is there: logs are asynchronous). */
async function linesOf(reqId: string): Promise<Record<string, unknown>[]> {
  for (let i = 0; ; i++) {
    const lines = iris
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes(reqId))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (lines.length > 0 || i > 400) return lines;
    await sleep(25);
  }
}

test('every /v2 answer carries its own fresh request id', async () => {
  const a = await json('GET', `${base}/v2/images`, undefined, USER);
  const b = await json('GET', `${base}/v2/images`, undefined, USER);
  const idA = a.headers.get('x-openstack-request-id') ?? '';
  assert.match(idA, REQUEST_ID);
  assert.match(b.headers.get('x-openstack-request-id') ?? '', REQUEST_ID);
  assert.notEqual(idA, b.headers.get('x-openstack-request-id'));
  // Faults too.
  const missing = await json('GET', `${base}/v2/images/${randomUUID()}`, undefined, USER);
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('x-openstack-request-id') ?? '', REQUEST_ID);
});

test("the caller's global request id goes into the request's log lines; a malformed one is ignored", async () => {
  const global = `req-${randomUUID()}`;
  const r = await json('GET', `${base}/v2/images`, undefined, { ...USER, 'X-OpenStack-Request-ID': global });
  assert.equal(r.status, 200, describe(r));
  const own = r.headers.get('x-openstack-request-id') ?? '';
  assert.match(own, REQUEST_ID);
  assert.notEqual(own, global, 'Iris keeps its own id; the caller’s is the global one');
  const [access] = (await linesOf(own)).filter((l) => l.msg === 'request');
  assert.ok(access, iris.logs().slice(-2000));
  assert.equal(access.req_id, own);
  assert.equal(access.global_request_id, global);

  for (const bad of [`req-${randomUUID().toUpperCase()}`, 'not-a-request-id', `${global}x`]) {
    const ignored = await json('GET', `${base}/v2/images`, undefined, { ...USER, 'X-OpenStack-Request-ID': bad });
    const id = ignored.headers.get('x-openstack-request-id') ?? '';
    const [line] = (await linesOf(id)).filter((l) => l.msg === 'request');
    assert.ok(line, `no access line for ${id}`);
    assert.equal(line.global_request_id, undefined, bad);
  }
});

test('a task records the request id and user of the request that created it, the caller’s global id when sent (as Glance); the task gauge moves', async () => {
  const metricsUrl = await metricsUrlOf(iris);
  const before = await scrape(metricsUrl);
  const created = await json('POST', `${base}/v2/images`, { name: 't', disk_format: 'raw', container_format: 'bare' }, USER);
  const id = created.body.id as string;
  assert.equal((await putBytes(`${base}/v2/images/${id}/stage`, randomBytes(4096), USER)).status, 204);
  const global = `req-${randomUUID()}`;
  const accepted = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, { ...USER, 'X-OpenStack-Request-ID': global });
  assert.equal(accepted.status, 202, describe(accepted));
  assert.match(accepted.headers.get('x-openstack-request-id') ?? '', REQUEST_ID);

  let tasks: any[] = [];
  for (let i = 0; i < 400; i++) {
    tasks = (await json('GET', `${base}/v2/images/${id}/tasks`, undefined, USER)).body.tasks;
    if (tasks.length === 1 && ['success', 'failure'].includes(tasks[0].status)) break;
    await sleep(25);
  }
  assert.equal(tasks.length, 1);
  assert.equal(tasks[0].status, 'success', JSON.stringify(tasks[0]));
  // Glance 25.1.0 records the id the caller sent (its context adopts X-Openstack-Request-Id).
  assert.equal(tasks[0].request_id, global);
  assert.equal(tasks[0].user_id, 'user-a');

  const after = await scrape(metricsUrl);
  assert.equal(valueOf(after, 'iris_tasks', { status: 'success' }) - valueOf(before, 'iris_tasks', { status: 'success' }), 1);
});
