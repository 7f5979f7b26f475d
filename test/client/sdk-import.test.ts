/**
 * The SDK's import, task, discovery and store calls on the wire, against a recording stand-in:
 * methods, paths, headers and bodies as glanceclient sends them, staging streamed with a
 * Content-Length, task paging through `next`, and no retry of a failed import POST.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createIrisClient, IrisApiError, importRequestBody, type IrisClient } from '../../src/client/index.js';
import { tasksQuery } from '../../src/client/tasks-api.js';
import { localServer, sendJson, type LocalServer } from './local-server.js';

let srv: LocalServer;
let client: IrisClient;
/** Status for `POST …/import` (503 checks that the POST is not retried). */
let importStatus = 202;

const task = (id: string) => ({ id, type: 'api_image_import', status: 'success', owner: 'p', input: {}, result: null, message: '', expires_at: null, created_at: 't', updated_at: 't' });

before(async () => {
  srv = await localServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'PUT' && url.pathname === '/v2/images/i1/stage') return res.writeHead(204).end();
    if (req.method === 'POST' && url.pathname === '/v2/images/i1/import') {
      return importStatus === 202 ? res.writeHead(202, { 'Content-Length': 0 }).end() : sendJson(res, importStatus, { message: 'busy' });
    }
    if (req.method === 'DELETE' && url.pathname === '/v2/stores/fast/i1') return res.writeHead(204).end();
    if (url.pathname === '/v2/images/i1/tasks') return sendJson(res, 200, { tasks: [task('t1')] });
    if (url.pathname === '/v2/tasks' && url.searchParams.get('marker') === null) {
      return sendJson(res, 200, { tasks: [task('t1'), task('t2')], next: '/v2/tasks?limit=2&marker=t2&status=success', first: '/v2/tasks' });
    }
    if (url.pathname === '/v2/tasks') return sendJson(res, 200, { tasks: [task('t3')], first: '/v2/tasks' });
    if (url.pathname === '/v2/tasks/t1') return sendJson(res, 200, { ...task('t1'), self: '/v2/tasks/t1', schema: '/v2/schemas/task' });
    if (url.pathname === '/v2/info/import') return sendJson(res, 200, { 'import-methods': { description: 'd', type: 'array', value: ['glance-direct'] } });
    if (url.pathname === '/v2/info/stores') return sendJson(res, 200, { stores: [{ id: 'fast', default: 'true' }, { id: 'slow' }] });
    if (url.pathname === '/v2/info/stores/detail') return sendJson(res, 200, { stores: [{ id: 'fast', type: 'file', properties: {} }] });
    sendJson(res, 404, { message: 'no' });
  });
  client = createIrisClient({ endpoint: srv.url, token: 'tok', retryDelayMs: 1 });
});

beforeEach(() => {
  srv.requests.length = 0;
  importStatus = 202;
});

after(async () => {
  await client.close();
  await srv.close();
});

test('stage streams raw bytes with a Content-Length and reports progress', async () => {
  const seen: number[] = [];
  await client.images.stage('i1', Readable.from([Buffer.from('abc'), Buffer.from('defg')]), { size: 7, onProgress: (n) => seen.push(n) });
  const [req] = srv.requests;
  assert.equal(req?.method, 'PUT');
  assert.equal(req?.url, '/v2/images/i1/stage');
  assert.equal(req?.headers['content-type'], 'application/octet-stream');
  assert.equal(req?.headers['content-length'], '7');
  assert.equal(req?.headers['x-image-meta-store'], undefined);
  assert.equal(req?.body.toString(), 'abcdefg');
  assert.deepEqual(seen, [3, 7]);
});

test('import: method and stores in the body, a single store as X-Image-Meta-Store', async () => {
  await client.images.import('i1', { method: 'glance-direct', stores: ['fast', 'slow'], allStoresMustSucceed: false });
  await client.images.import('i1', { method: 'web-download', uri: 'https://example.com/x.img', store: 'slow' });
  await client.images.import('i1', { method: 'copy-image', allStores: true });
  const [a, b, c] = srv.requests;
  assert.deepEqual(JSON.parse(a!.body.toString()), { method: { name: 'glance-direct' }, stores: ['fast', 'slow'], all_stores_must_succeed: false });
  assert.equal(a!.headers['x-image-meta-store'], undefined);
  assert.deepEqual(JSON.parse(b!.body.toString()), { method: { name: 'web-download', uri: 'https://example.com/x.img' } });
  assert.equal(b!.headers['x-image-meta-store'], 'slow');
  assert.deepEqual(JSON.parse(c!.body.toString()), { method: { name: 'copy-image' }, all_stores: true });
  for (const r of [a, b, c]) {
    assert.equal(r!.method, 'POST');
    assert.equal(r!.headers['content-type'], 'application/json');
    assert.equal(r!.headers['x-auth-token'], 'tok');
  }
});

test('a failed import POST is not sent again', async () => {
  importStatus = 503;
  await assert.rejects(client.images.import('i1', { method: 'glance-direct' }), (err: unknown) => err instanceof IrisApiError && err.status === 503);
  assert.equal(srv.requests.length, 1);
});

test('deleteFromStore, image tasks, task paging and task get', async () => {
  await client.images.deleteFromStore('i1', 'fast');
  assert.equal(srv.requests[0]?.method, 'DELETE');
  assert.equal(srv.requests[0]?.url, '/v2/stores/fast/i1');

  assert.deepEqual((await client.images.tasks('i1')).map((t) => t.id), ['t1']);

  const ids: string[] = [];
  for await (const t of client.tasks.listAll({ status: 'success', sortKey: 'status', sortDir: 'desc', pageSize: 2 })) ids.push(t.id);
  assert.deepEqual(ids, ['t1', 't2', 't3']);
  const listCalls = srv.requests.filter((r) => r.url.startsWith('/v2/tasks?'));
  assert.deepEqual(listCalls.map((r) => r.url), ['/v2/tasks?status=success&sort_key=status&sort_dir=desc&limit=2', '/v2/tasks?limit=2&marker=t2&status=success']);

  const page = await client.tasks.list({ limit: 2 });
  assert.equal(page.next, '/v2/tasks?limit=2&marker=t2&status=success');
  assert.equal((await client.tasks.get('t1')).self, '/v2/tasks/t1');
});

test('info: import methods, stores, stores detail', async () => {
  assert.deepEqual((await client.info.import())['import-methods'].value, ['glance-direct']);
  assert.deepEqual((await client.info.stores()).stores.map((s) => s.id), ['fast', 'slow']);
  assert.equal((await client.info.storesDetail()).stores[0]?.type, 'file');
});

test('request builders', () => {
  assert.deepEqual(importRequestBody({ method: 'glance-download', glanceRegion: 'r2', glanceImageId: 'x', glanceServiceInterface: 'public' }), {
    method: { name: 'glance-download', glance_region: 'r2', glance_image_id: 'x', glance_service_interface: 'public' },
  });
  assert.equal(tasksQuery({ type: 'import' }, { limit: 20, marker: 'm' }).toString(), 'type=import&limit=20&marker=m');
});
