/**
 * Graceful stop on SIGTERM: requests in progress finish (up to [iris] shutdown_timeout), then
 * the remaining connections are closed; uploads and imports cut short leave their images
 * queued; the process exits 0, with one worker or several.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris } from '../helpers/iris-server.js';
import { json } from '../helpers/http.js';
import { startSlowUpload } from '../helpers/slow-upload.js';

const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iris-stop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function newImage(baseUrl: string): Promise<string> {
  const created = await json('POST', `${baseUrl}/v2/images`, { name: 'x', disk_format: 'raw', container_format: 'bare' }, A);
  assert.equal(created.status, 201);
  return created.body.id as string;
}

test('SIGTERM during a stalled upload: after shutdown_timeout the connection is closed, exit 0, the image is queued', async (t) => {
  const dataDir = tempDir(t);
  const env = { IRIS__IRIS__SHUTDOWN_TIMEOUT: '1' };
  const iris = await startIris({ dataDir, env });
  t.after(() => iris.stop());
  const id = await newImage(iris.baseUrl);
  const up = startSlowUpload(`${iris.baseUrl}/v2/images/${id}/file`, { headers: A, totalBytes: 64 << 20 });
  await up.sentAtLeast(256 * 1024);
  up.stop(); // the client stalls: the request never ends by itself
  assert.equal((await json('GET', `${iris.baseUrl}/v2/images/${id}`, undefined, A)).body.status, 'saving');

  const exit = await iris.kill('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, iris.logs());
  const outcome = await up.settled;
  assert.ok(outcome.error !== undefined || outcome.status === 503, JSON.stringify(outcome));
  const logs = iris.logs();
  assert.match(logs, /requests still in progress after shutdown_timeout; closing their connections/);
  assert.match(logs, /"msg":"stopped"/);

  const again = await startIris({ dataDir, env });
  t.after(() => again.stop());
  assert.doesNotMatch(again.logs(), /left in saving/, 'the stopping server put the image back itself');
  assert.equal((await json('GET', `${again.baseUrl}/v2/images/${id}`, undefined, A)).body.status, 'queued');
});

test('SIGTERM lets an upload in progress finish; new connections are refused meanwhile', async (t) => {
  const dataDir = tempDir(t);
  const iris = await startIris({ dataDir, env: { IRIS__IRIS__SHUTDOWN_TIMEOUT: '30' } });
  t.after(() => iris.stop());
  const id = await newImage(iris.baseUrl);
  const up = startSlowUpload(`${iris.baseUrl}/v2/images/${id}/file`, { headers: A, totalBytes: 64 << 20 });
  await up.sentAtLeast(128 * 1024);
  up.stop();
  const exited = iris.kill('SIGTERM');
  // Wait until the server has stopped listening, then let the client finish its body.
  for (;;) {
    try {
      await fetch(`${iris.baseUrl}/`).then((r) => r.arrayBuffer());
      await sleep(20);
    } catch {
      break;
    }
  }
  up.req.end();
  const outcome = await up.settled;
  assert.equal(outcome.status, 204, JSON.stringify(outcome));
  assert.deepEqual(await exited, { code: 0, signal: null });
  const again = await startIris({ dataDir });
  t.after(() => again.stop());
  const image = (await json('GET', `${again.baseUrl}/v2/images/${id}`, undefined, A)).body;
  assert.equal(image.status, 'active');
  assert.equal(image.size, up.sent());
});

test('SIGTERM aborts a running web-download import: the task fails, the image is queued, exit 0', async (t) => {
  const dataDir = tempDir(t);
  // A source that sends a little and then stalls forever.
  const source = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(64 * 1024, 7));
  });
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    source.closeAllConnections();
    source.close();
  });
  const port = (source.address() as { port: number }).port;
  const env = {
    IRIS__IRIS__SHUTDOWN_TIMEOUT: '5',
    IRIS__IMPORT_FILTERING_OPTS__ALLOW_PRIVATE_NETWORKS: 'true',
    IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
  };
  const iris = await startIris({ dataDir, env });
  t.after(() => iris.stop());
  const id = await newImage(iris.baseUrl);
  const started = await json('POST', `${iris.baseUrl}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/disk.raw` } }, A);
  assert.equal(started.status, 202, started.text);
  for (;;) {
    const image = (await json('GET', `${iris.baseUrl}/v2/images/${id}`, undefined, A)).body;
    if (image.status === 'importing') break;
    await sleep(20);
  }
  assert.deepEqual(await iris.kill('SIGTERM'), { code: 0, signal: null }, iris.logs());
  assert.match(iris.logs(), /"in_flight_imports":1/);

  const again = await startIris({ dataDir, env });
  t.after(() => again.stop());
  assert.doesNotMatch(again.logs(), /interrupted by a restart/, 'the stopping server failed the task itself');
  const image = (await json('GET', `${again.baseUrl}/v2/images/${id}`, undefined, A)).body;
  assert.equal(image.status, 'queued', JSON.stringify(image));
  const tasks = (await json('GET', `${again.baseUrl}/v2/images/${id}/tasks`, undefined, A)).body.tasks;
  assert.equal(tasks.length, 1);
  assert.equal(tasks[0].status, 'failure');
  assert.match(tasks[0].message, /Import interrupted by shutdown/);
});

test('workers = 2: SIGTERM to the primary stops every worker gracefully, then the primary exits 0', async (t) => {
  const iris = await startIris({ env: { IRIS__DEFAULT__WORKERS: '2', IRIS__IRIS__SHUTDOWN_TIMEOUT: '5' } });
  t.after(() => iris.stop());
  while ((iris.logs().match(/Iris listening/g)?.length ?? 0) < 2) await sleep(20);
  process.kill(iris.child.pid!, 'SIGTERM'); // the primary only, as systemd (KillMode=mixed) does
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (iris.child.exitCode !== null) resolve({ code: iris.child.exitCode, signal: null });
    iris.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  assert.deepEqual(exit, { code: 0, signal: null }, iris.logs());
  const logs = iris.logs();
  assert.equal(logs.match(/"msg":"stopped"/g)?.length, 2, logs);
  assert.equal(logs.match(/"msg":"worker stopped"/g)?.length, 2, logs);
  assert.doesNotMatch(logs, /starting a new one/);
});
