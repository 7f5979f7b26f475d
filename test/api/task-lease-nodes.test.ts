/**
 * Two Iris nodes on one database and one store (the same data dir; one SQLite file there, or
 * a throwaway PostgreSQL server, skipped loudly when it cannot start outside CI): node A
 * runs a web-download and is killed with SIGKILL mid-import; node B, which stays up and never
 * restarts, fails A's task once A's lease has ended (a short [iris] task_lease_seconds here)
 * and returns the image to queued with its store marked failed and its lock dropped, as a
 * restart would. The test polls the task's state with a generous bound; it never sleeps.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIris } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip } from '../helpers/sql-server.js';
import { partials, until } from '../helpers/store-files.js';

const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const MiB = 1024 * 1024;
/** Short, so the test does not wait minutes; long enough for a busy machine to renew in time. */
const LEASE_SECONDS = 3;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

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

/** Starts A and B on `database` (extra env), kills A mid-import and checks B's take-over. */
async function killedNodeIsTakenOver(database: Record<string, string>): Promise<void> {
  const { server, port, served } = await stallingServer();
  cleanups.push(() => void server.closeAllConnections());
  cleanups.push(() => void server.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-lease-nodes-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
    IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
    IRIS__IRIS__TASK_LEASE_SECONDS: String(LEASE_SECONDS),
    IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
    IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    ...database,
  };
  const a = await startIris({ dataDir, env });
  cleanups.push(() => a.stop());
  const b = await startIris({ dataDir, env });
  cleanups.push(() => b.stop());

  const created = await json('POST', `${a.baseUrl}/v2/images`, { name: 'lease', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  const id: string = created.body.id;
  const accepted = await json('POST', `${a.baseUrl}/v2/images/${id}/import`, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/big.img` } }, ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  const store = join(dataDir, 'images', 'local');
  await until('bytes flowing into the store on node A', async () => (served() >= MiB && partials(store).length > 0 ? true : undefined), 60_000);
  const running = await json('GET', `${b.baseUrl}/v2/images/${id}/tasks`, undefined, ADMIN);
  assert.equal(running.body.tasks.length, 1, describe(running));
  const taskId: string = running.body.tasks[0].id;
  // B sees the task A runs, and leaves it alone while A renews its lease.
  assert.ok(['pending', 'processing'].includes(running.body.tasks[0].status), describe(running));
  await a.kill('SIGKILL');

  // B fails the task, then recovers the image (two writes): wait for both.
  const task = await until(
    'node B to fail the task of the killed node and recover its image',
    async () => {
      const r = await json('GET', `${b.baseUrl}/v2/tasks/${taskId}`, undefined, ADMIN);
      if (r.body.status !== 'failure') return undefined;
      const img = await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN);
      return img.body.os_glance_import_task === undefined ? r.body : undefined;
    },
    120_000,
  );
  assert.equal(task.message, 'Import abandoned: the node running it stopped renewing its task lease');
  const image = (await json('GET', `${b.baseUrl}/v2/images/${id}`, undefined, ADMIN)).body;
  assert.equal(image.status, 'queued', JSON.stringify(image));
  assert.equal(image.os_glance_import_task, undefined, 'lock dropped');
  assert.equal(image.os_glance_failed_import, 'local');
  assert.equal(image.size, null);
  assert.match(b.logs(), /import tasks of a stopped node failed/);
  // The image can be imported again through B (judged on its own merits: here port filtering).
  const again = await json('POST', `${b.baseUrl}/v2/images/${id}/import`, { method: { name: 'web-download', uri: 'http://127.0.0.1:1/x' } }, ADMIN);
  assert.equal(again.status, 400, describe(again));
}

test('node A killed mid-import: node B fails its task after the lease and the image is back to queued (SQLite)', { timeout: 180_000 }, async () => {
  await killedNodeIsTakenOver({});
});

test('node A killed mid-import: node B fails its task after the lease and the image is back to queued (PostgreSQL)', { timeout: 240_000 }, async (t) => {
  const pg = await startOrSkip(t, startPostgres);
  if (pg === undefined) return;
  cleanups.push(() => pg.stop());
  await killedNodeIsTakenOver({ IRIS__DATABASE__CONNECTION: pg.url });
});
