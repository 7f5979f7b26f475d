/**
 * Keystone unified limits against a real Keystone (test/keystone/keystone.sh): registered and
 * project limits of image_size_total, image_stage_total, image_count_total and
 * image_count_uploading, enforced where Glance 25.1.0 enforces them (create, upload, stage,
 * import) with its error text, and reported by GET /v2/info/usage. Iris reads the limits as a
 * system-scoped admin ([oslo_limit] system_scope = all), without its limit cache.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { describe, json, putBytes, type HttpAnswer } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { requireKeystone, startKeystone, type KeystoneProcess, type TestCloud } from '../helpers/keystone.js';

const haveKeystone = requireKeystone();
const STEP = { skip: haveKeystone ? false : 'Keystone (python3-keystone, uwsgi) not installed', timeout: 120_000 };
const MIB = 1024 * 1024;

let keystone: KeystoneProcess;
let cloud: TestCloud;
let iris: IrisProcess;
let base: string;

const as = (projectId: string) => ({ 'X-Project-Id': projectId, 'X-Roles': 'member,reader', 'X-User-Id': 'u' });

async function must(method: string, path: string, body?: unknown): Promise<any> {
  const r = await keystone.admin(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

before(async () => {
  if (!haveKeystone) return;
  keystone = await startKeystone();
  cloud = await keystone.populate();
  await keystone.registerImageEndpoint('http://127.0.0.1:9/');
  const service = (await must('GET', '/services?type=image')).services[0].id as string;
  const endpoint = (await must('GET', `/endpoints?service_id=${service}&interface=public`)).endpoints[0].id as string;
  const registered = { image_size_total: 1, image_stage_total: 1, image_count_total: 2, image_count_uploading: 1 };
  await must('POST', '/registered_limits', {
    registered_limits: Object.entries(registered).map(([resource_name, default_limit]) => ({ service_id: service, region_id: 'RegionOne', resource_name, default_limit })),
  });
  // demo may have one image more than the registered default.
  await must('POST', '/limits', {
    limits: [{ service_id: service, region_id: 'RegionOne', project_id: cloud.projects.demo.id, resource_name: 'image_count_total', resource_limit: 3 }],
  });
  iris = await startIris({
    env: {
      IRIS__DEFAULT__USE_KEYSTONE_LIMITS: 'true',
      // Ignored with Keystone limits, as in Glance.
      IRIS__DEFAULT__USER_STORAGE_QUOTA: '1',
      IRIS__OSLO_LIMIT__AUTH_URL: keystone.url,
      IRIS__OSLO_LIMIT__ENDPOINT_ID: endpoint,
      IRIS__OSLO_LIMIT__USERNAME: cloud.users.admin.name,
      IRIS__OSLO_LIMIT__PASSWORD: cloud.users.admin.password,
      IRIS__OSLO_LIMIT__USER_DOMAIN_ID: 'default',
      IRIS__OSLO_LIMIT__SYSTEM_SCOPE: 'all',
      IRIS__IRIS__KEYSTONE_LIMITS_CACHE_TIME: '0',
    },
    readyTimeoutMs: 120_000,
  });
  base = iris.baseUrl;
});

after(async () => {
  await iris?.stop();
  await keystone?.stop();
});

/** Glance's LimitExceeded text around oslo.limit's ProjectOverLimit. */
const overLimit = (project: string, what: string) =>
  'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold ' +
  `was breached.\n\nThe response body:\nProject ${project} is over a limit for [Resource ${what}]`;

function expect413(r: HttpAnswer, message: string): void {
  assert.equal(r.status, 413, describe(r));
  assert.ok(String(r.body.message).startsWith(message), describe(r));
}

async function create(project: string): Promise<HttpAnswer> {
  return json('POST', `${base}/v2/images`, { name: 'limited', disk_format: 'raw', container_format: 'bare' }, as(project));
}

async function usage(project: string): Promise<any> {
  const r = await json('GET', `${base}/v2/info/usage`, undefined, as(project));
  assert.equal(r.status, 200, describe(r));
  return r.body;
}

test('usage before anything: Keystone limits (project limit over the registered one) and zero usage', STEP, async () => {
  assert.deepEqual(await usage(cloud.projects.demo.id), {
    usage: {
      image_size_total: { usage: 0, limit: 1 },
      image_stage_total: { usage: 0, limit: 1 },
      image_count_total: { usage: 0, limit: 3 },
      image_count_uploading: { usage: 0, limit: 1 },
    },
  });
  assert.equal((await usage(cloud.projects.alt.id)).usage.image_count_total.limit, 2);
});

test('image_count_total at create: up to the project limit, then 413', STEP, async () => {
  const demo = cloud.projects.demo.id;
  for (let i = 0; i < 3; i++) assert.equal((await create(demo)).status, 201);
  expect413(await create(demo), overLimit(demo, 'image_count_total is over limit of 3 due to current usage 3 and delta 1'));
  assert.deepEqual((await usage(demo)).usage.image_count_total, { usage: 3, limit: 3 });
});

test('image_size_total: an upload starts while usage is within the limit; once over, uploads and imports are 413', STEP, async () => {
  const demo = cloud.projects.demo.id;
  const list = await json('GET', `${base}/v2/images`, undefined, as(demo));
  const [first, second] = (list.body.images as { id: string }[]).map((i) => i.id);
  // 2 MiB into a 1 MiB limit: Glance checks usage before the upload (delta 0), and
  // user_storage_quota (1 byte) does not apply.
  const up = await putBytes(`${base}/v2/images/${first}/file`, Buffer.alloc(2 * MIB, 1), as(demo));
  assert.equal(up.status, 204, describe(up));
  assert.deepEqual((await usage(demo)).usage.image_size_total, { usage: 2, limit: 1 });
  const over = overLimit(demo, 'image_size_total is over limit of 1 due to current usage 2 and delta 0');
  expect413(await putBytes(`${base}/v2/images/${second}/file`, Buffer.alloc(10, 1), as(demo)), over);
  assert.equal((await json('GET', `${base}/v2/images/${second}`, undefined, as(demo))).body.status, 'queued');
  // Import checks it before even looking for the image.
  expect413(await json('POST', `${base}/v2/images/${randomUUID()}/import`, { method: { name: 'glance-direct' } }, as(demo)), over);
});

test('image_stage_total and image_count_uploading: stage and upload while another image is uploading', STEP, async () => {
  const alt = cloud.projects.alt.id;
  const one = (await create(alt)).body.id as string;
  const two = (await create(alt)).body.id as string;
  const staged = await putBytes(`${base}/v2/images/${one}/stage`, Buffer.alloc(2 * MIB, 1), as(alt));
  assert.equal(staged.status, 204, describe(staged));
  const now = (await usage(alt)).usage;
  assert.deepEqual(now.image_stage_total, { usage: 2, limit: 1 });
  assert.deepEqual(now.image_count_uploading, { usage: 1, limit: 1 });
  expect413(
    await putBytes(`${base}/v2/images/${two}/stage`, Buffer.alloc(10, 1), as(alt)),
    overLimit(alt, 'image_stage_total is over limit of 1 due to current usage 2 and delta 0'),
  );
  // An upload counts itself once saving: two uploading images pass the limit of one.
  expect413(
    await putBytes(`${base}/v2/images/${two}/file`, Buffer.alloc(10, 1), as(alt)),
    overLimit(alt, 'image_count_uploading is over limit of 1 due to current usage 2 and delta 0'),
  );
  assert.equal((await json('GET', `${base}/v2/images/${two}`, undefined, as(alt))).body.status, 'queued');
});

test('glance-direct import: the task checks image_size_total with the staged size and fails over it', STEP, async () => {
  const alt = cloud.projects.alt.id;
  const list = await json('GET', `${base}/v2/images`, undefined, as(alt));
  const staged = (list.body.images as { id: string; status: string }[]).find((i) => i.status === 'uploading');
  assert.ok(staged, describe(list));
  // Usage 0 MiB passes the request's check (delta 0); the task adds the 2 MiB staged.
  const started = await json('POST', `${base}/v2/images/${staged.id}/import`, { method: { name: 'glance-direct' } }, as(alt));
  assert.equal(started.status, 202, describe(started));
  const deadline = Date.now() + 60_000;
  let task: any;
  while (Date.now() < deadline) {
    task = (await json('GET', `${base}/v2/images/${staged.id}/tasks`, undefined, as(alt))).body.tasks?.[0];
    if (task?.status === 'failure' || task?.status === 'success') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(task?.status, 'failure', JSON.stringify(task));
  assert.ok(String(task.message).startsWith(overLimit(alt, 'image_size_total is over limit of 1 due to current usage 0 and delta 2')), task.message);
  assert.equal((await json('GET', `${base}/v2/images/${staged.id}`, undefined, as(alt))).body.status, 'queued');
});
