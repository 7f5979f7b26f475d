/**
 * kill -9 during an import, then restart on the same data dir: the running task is failed with
 * "Import interrupted by restart", the image is back in a consistent state (web-download:
 * queued with its store marked failed; copy-image: still active with only its old copy), the
 * lock is gone, and no staged or partial data is left. Multi-store (local, local2), as the peer.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';
import { files, partials, until } from '../helpers/store-files.js';

const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const MiB = 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function env(port: number): Record<string, string> {
  return {
    IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
    IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
    IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
    IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
  };
}

async function taskOf(base: string, id: string): Promise<any> {
  const r = await json('GET', `${base}/v2/images/${id}/tasks`, undefined, ADMIN);
  assert.equal(r.status, 200, describe(r));
  return r.body.tasks.at(-1);
}

/** A server that sends a few chunks of an endless body and then stalls: the import never ends. */
function stallingServer(): Promise<{ server: Server; port: number; served: () => number }> {
  let sent = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': String(1024 * MiB) });
    const chunk = randomBytes(256 * 1024);
    let n = 0;
    const tick = setInterval(() => {
      if (n++ < 8) {
        sent += chunk.length;
        res.write(chunk);
      }
    }, 20);
    res.on('close', () => clearInterval(tick));
  });
  server.listen(0, '127.0.0.1');
  return new Promise((resolve) =>
    server.once('listening', () => resolve({ server, port: (server.address() as AddressInfo).port, served: () => sent })),
  );
}

test('kill -9 during a web-download: after restart the task failed, the image is queued, no partial data is left', { timeout: 120_000 }, async () => {
  const { server, port, served } = await stallingServer();
  cleanups.push(() => void server.closeAllConnections());
  cleanups.push(() => void server.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-import-crash-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const first: IrisProcess = await startIris({ dataDir, env: env(port) });
  cleanups.push(() => first.stop());

  const created = await json('POST', `${first.baseUrl}/v2/images`, { name: 'wd-crash', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  const id: string = created.body.id;
  const accepted = await json('POST', `${first.baseUrl}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/big.img` } }, ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  // One store: the download streams straight into it (a partial write in its temp area).
  const local = join(dataDir, 'images', 'local');
  await until('bytes flowing into the store', async () => (served() >= MiB && partials(local).length > 0 ? true : undefined));
  const during = (await json('GET', `${first.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(during.status, 'importing');
  assert.equal(during.os_glance_importing_to_stores, 'local');
  await first.kill('SIGKILL');

  const second = await startIris({ dataDir, env: env(port) });
  cleanups.push(() => second.stop());
  const image = (await json('GET', `${second.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'queued', JSON.stringify(image));
  assert.equal(image.os_glance_import_task, undefined, 'lock dropped');
  assert.equal(image.os_glance_failed_import, 'local');
  assert.equal(image.os_glance_importing_to_stores, '');
  assert.equal(image.size, null);
  const task = await taskOf(second.baseUrl, id);
  assert.equal(task.status, 'failure');
  assert.equal(task.message, 'Import interrupted by restart');
  assert.deepEqual([...files(join(dataDir, 'staging')), ...partials(join(dataDir, 'staging'))], [], 'staging empty');
  assert.deepEqual([...files(local), ...partials(local)], [], 'no partial download left in the store');
  // The image can be imported again.
  const again = await json('POST', `${second.baseUrl}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:1/x` } }, ADMIN);
  assert.equal(again.status, 400, `a new import is judged on its own merits (here: port filtering), not refused by a stale lock: ${describe(again)}`);
});

test('kill -9 during a copy-image: after restart the image is active with its old copy only', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-copy-crash-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startIris({ dataDir, env: env(443) });
  cleanups.push(() => first.stop());
  const created = await json('POST', `${first.baseUrl}/v2/images`, { name: 'copy-crash', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  const id: string = created.body.id;
  // 256 MiB: large enough that the copy is still running when we look.
  const size = 256 * MiB;
  const chunk = randomBytes(MiB);
  const body = new ReadableStream<Uint8Array>({
    start() {},
    pull(controller) {
      if (controller.desiredSize === null) return;
      sentChunks++;
      controller.enqueue(new Uint8Array(chunk));
      if (sentChunks * MiB >= size) controller.close();
    },
  });
  let sentChunks = 0;
  const put = await fetch(`${first.baseUrl}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size), ...ADMIN },
    body,
    duplex: 'half',
  } as RequestInit);
  assert.equal(put.status, 204, await put.text());

  const accepted = await json('POST', `${first.baseUrl}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  await until('the copy writing into local2', async () => (partials(join(dataDir, 'images', 'local2')).length > 0 ? true : undefined));
  await first.kill('SIGKILL');

  const second = await startIris({ dataDir, env: env(443) });
  cleanups.push(() => second.stop());
  const image = (await json('GET', `${second.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'active', JSON.stringify(image));
  assert.equal(image.stores, 'local');
  assert.equal(image.size, size);
  assert.equal(image.os_glance_import_task, undefined);
  assert.equal(image.os_glance_failed_import, 'local2');
  assert.equal(image.os_glance_importing_to_stores, '');
  const task = await taskOf(second.baseUrl, id);
  assert.equal(task.status, 'failure');
  assert.equal(task.message, 'Import interrupted by restart');
  assert.deepEqual([...files(join(dataDir, 'images', 'local2')), ...partials(join(dataDir, 'images', 'local2'))], [], 'no partial copy left');
  // The copy can be retried and now completes.
  const retry = await json('POST', `${second.baseUrl}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, ADMIN);
  assert.equal(retry.status, 202, describe(retry));
  const done = await until('the retried copy', async () => {
    const img = (await json('GET', `${second.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
    return img.os_glance_import_task === undefined && img.stores === 'local,local2' ? img : undefined;
  }, 60_000);
  assert.equal(done.os_glance_failed_import, '');
});
