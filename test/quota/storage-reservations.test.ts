/**
 * user_storage_quota held race-free: 20 uploads at once against a byte quota never exceed it
 * (two server processes sharing the database, on SQLite, PostgreSQL and MariaDB), and a
 * reservation is released when its upload fails, is aborted, or its process is killed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { describe as describeAnswer, json, putBytes, putChunked } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { testEngines, type TestEngine } from '../persistence/test-engines.js';
import { startPartialUpload, waitForStatus } from './quota-helpers.js';

const identity = (project: string) => ({ 'X-Project-Id': project, 'X-Roles': 'member,reader', 'X-User-Id': `user-${project}` });
const IMAGE = 1000;
const QUOTA = 10 * IMAGE;
const UPLOADS = 20;

/** Iris on `engine` with the byte quota, `workers` processes sharing the database. */
async function irisOn(t: TestContext, engine: TestEngine, name: string, workers: number, dataDir?: string): Promise<IrisProcess> {
  const env: Record<string, string> = { IRIS__DEFAULT__USER_STORAGE_QUOTA: String(QUOTA), IRIS__DEFAULT__WORKERS: String(workers) };
  const args: string[] = [];
  if (engine.server !== undefined) {
    const url = await engine.server.createDatabase(name);
    const dir = await mkdtemp(join(tmpdir(), 'iris-quota-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'iris.conf'), `[database]\nconnection = ${url}\n`);
    args.push('--config-file', join(dir, 'iris.conf'));
  }
  // Two processes start slowly on a machine shared with other test runs: a generous bound.
  const iris = await startIris({ env, args, readyTimeoutMs: 180_000, ...(dataDir !== undefined ? { dataDir } : {}) });
  t.after(() => iris.stop());
  return iris;
}

async function createImages(base: string, project: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await json('POST', `${base}/v2/images`, { name: `race-${i}`, disk_format: 'raw', container_format: 'bare' }, identity(project));
    assert.equal(r.status, 201, describeAnswer(r));
    ids.push(r.body.id as string);
  }
  return ids;
}

/** Sum of the sizes of the project's active images. */
async function activeBytes(base: string, project: string): Promise<number> {
  const r = await json('GET', `${base}/v2/images?limit=100`, undefined, identity(project));
  assert.equal(r.status, 200, describeAnswer(r));
  return (r.body.images as { status: string; size: number | null }[]).filter((i) => i.status === 'active').reduce((s, i) => s + (i.size ?? 0), 0);
}

for (const engine of await testEngines()) {
  describe(`byte quota on ${engine.name}`, { skip: engine.skip }, () => {
    test(`${UPLOADS} concurrent uploads with Content-Length: exactly quota/size succeed, the rest 413`, async (t) => {
      const iris = await irisOn(t, engine, 'race_known', 2);
      const ids = await createImages(iris.baseUrl, 'race', UPLOADS);
      const answers = await Promise.all(ids.map((id) => putBytes(`${iris.baseUrl}/v2/images/${id}/file`, Buffer.alloc(IMAGE, 5), identity('race'))));
      const ok = answers.filter((a) => a.status === 204).length;
      for (const a of answers) assert.ok(a.status === 204 || a.status === 413, describeAnswer(a));
      assert.equal(ok, QUOTA / IMAGE, `succeeded: ${ok}`);
      assert.equal(await activeBytes(iris.baseUrl, 'race'), QUOTA);
    });

    test(`${UPLOADS} concurrent chunked uploads (no Content-Length) never exceed the quota`, async (t) => {
      const iris = await irisOn(t, engine, 'race_chunked', 2);
      const ids = await createImages(iris.baseUrl, 'race-chunked', UPLOADS);
      const answers = await Promise.all(ids.map((id) => putChunked(`${iris.baseUrl}/v2/images/${id}/file`, IMAGE, identity('race-chunked'))));
      for (const a of answers) assert.ok(a.status === 204 || a.status === 413, describeAnswer(a));
      const ok = answers.filter((a) => a.status === 204).length;
      assert.ok(ok >= 1, 'at least one upload fits');
      assert.ok(ok * IMAGE <= QUOTA, `succeeded: ${ok}`);
      const used = await activeBytes(iris.baseUrl, 'race-chunked');
      assert.equal(used, ok * IMAGE);
      assert.ok(used <= QUOTA);
    });
  });
}

test('an aborted upload releases its reservation: the whole quota is free again once its image is queued', async (t) => {
  const iris = await irisOn(t, { name: 'sqlite', server: undefined, skip: false }, 'abort', 1);
  const [a, b] = await createImages(iris.baseUrl, 'abort', 2);
  const h = identity('abort');
  const partial = await startPartialUpload(`${iris.baseUrl}/v2/images/${a}/file`, QUOTA, 100, h);
  await waitForStatus(iris.baseUrl, a!, 'saving', h);
  // While it runs, its declared bytes are held.
  const refused = await putBytes(`${iris.baseUrl}/v2/images/${b}/file`, Buffer.alloc(1, 1), h);
  assert.equal(refused.status, 413, describeAnswer(refused));
  partial.abort();
  await waitForStatus(iris.baseUrl, a!, 'queued', h);
  const whole = await putBytes(`${iris.baseUrl}/v2/images/${b}/file`, Buffer.alloc(QUOTA, 1), h);
  assert.equal(whole.status, 204, describeAnswer(whole));
});

test('a failed upload (refused data) releases its reservation', async (t) => {
  const iris = await irisOn(t, { name: 'sqlite', server: undefined, skip: false }, 'failed', 1);
  const h = identity('failed');
  // A qcow2 image whose data is not qcow2 is refused (400) after its bytes were reserved.
  const bad = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'bad', disk_format: 'qcow2', container_format: 'bare' }, h);
  assert.equal(bad.status, 201, describeAnswer(bad));
  const refused = await putBytes(`${iris.baseUrl}/v2/images/${bad.body.id}/file`, Buffer.alloc(QUOTA, 0), h);
  assert.equal(refused.status, 400, describeAnswer(refused));
  const [good] = await createImages(iris.baseUrl, 'failed', 1);
  const whole = await putBytes(`${iris.baseUrl}/v2/images/${good}/file`, Buffer.alloc(QUOTA, 1), h);
  assert.equal(whole.status, 204, describeAnswer(whole));
});

test('the reservation of a killed server is released when it restarts', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'iris-quota-crash-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const sqlite: TestEngine = { name: 'sqlite', server: undefined, skip: false };
  const first = await irisOn(t, sqlite, 'crash', 1, dataDir);
  const [a, b] = await createImages(first.baseUrl, 'crash', 2);
  const h = identity('crash');
  const partial = await startPartialUpload(`${first.baseUrl}/v2/images/${a}/file`, QUOTA, 100, h);
  await waitForStatus(first.baseUrl, a!, 'saving', h);
  await first.kill('SIGKILL');
  partial.abort();
  const second = await irisOn(t, sqlite, 'crash', 1, dataDir);
  await waitForStatus(second.baseUrl, a!, 'queued', h);
  const whole = await putBytes(`${second.baseUrl}/v2/images/${b}/file`, Buffer.alloc(QUOTA, 1), h);
  assert.equal(whole.status, 204, describeAnswer(whole));
});
