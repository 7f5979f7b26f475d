/**
 * Two Iris nodes on one database and one store (the same data dir, one SQLite file): uploads
 * carry a transfer lease (src/services/transfer-leases.ts). A node that starts while another
 * node receives an upload leaves that upload alone (start-up recovery used to return every
 * `saving` image to `queued`); an upload whose node was killed is returned to `queued` by the
 * surviving node once the lease ended (a short [iris] task_lease_seconds here). States are
 * polled with generous bounds; nothing sleeps for a fixed time.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { startIris } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { startSlowUpload } from '../helpers/slow-upload.js';
import { until } from '../helpers/store-files.js';

const MiB = 1024 * 1024;
/** Short, so the take-over comes quickly; long enough for a busy machine to renew in time. */
const LEASE_SECONDS = 3;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function sharedDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-transfer-lease-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return dataDir;
}

async function statusAt(base: string, id: string): Promise<string> {
  const r = await json('GET', `${base}/v2/images/${id}`);
  assert.equal(r.status, 200, describe(r));
  return r.body.status as string;
}

async function newImage(base: string): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'lease', disk_format: 'raw', container_format: 'bare' });
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

const env = { IRIS__IRIS__TASK_LEASE_SECONDS: String(LEASE_SECONDS) };

test('a node starting while another receives an upload leaves that upload alone', { timeout: 180_000 }, async () => {
  const dataDir = sharedDataDir();
  const a = await startIris({ dataDir, env });
  cleanups.push(() => a.stop());
  const id = await newImage(a.baseUrl);
  // An upload this test paces itself: the first MiB now, the rest once node B is up.
  const req = request(`${a.baseUrl}/v2/images/${id}/file`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  const part = Buffer.alloc(MiB, 3);
  req.write(part);
  await until('the image in saving', async () => ((await statusAt(a.baseUrl, id)) === 'saving' ? true : undefined));

  const b = await startIris({ dataDir, env });
  const started = Date.now();
  cleanups.push(() => b.stop());
  assert.equal(await statusAt(b.baseUrl, id), 'saving', "node B's start-up left A's upload alone");
  // Longer than a lease: A keeps renewing, so B's sweep leaves it alone too.
  await until('a lease and a half on node B', async () => (Date.now() - started > LEASE_SECONDS * 1500 ? true : undefined), 60_000);
  assert.equal(await statusAt(b.baseUrl, id), 'saving', "node B's sweep left A's upload alone");

  req.end(part);
  const outcome = await answered;
  assert.equal(outcome.status, 204, outcome.body);
  const image = await json('GET', `${b.baseUrl}/v2/images/${id}`);
  assert.equal(image.body.status, 'active');
  assert.equal(image.body.size, 2 * MiB);
});

test('an upload whose node was killed returns to queued on the other node once its lease ended', { timeout: 180_000 }, async () => {
  const dataDir = sharedDataDir();
  const a = await startIris({ dataDir, env });
  cleanups.push(() => a.stop());
  const b = await startIris({ dataDir, env });
  cleanups.push(() => b.stop());
  const id = await newImage(a.baseUrl);
  const upload = startSlowUpload(`${a.baseUrl}/v2/images/${id}/file`, { totalBytes: 64 * MiB });
  cleanups.push(() => upload.stop());
  await upload.sentAtLeast(MiB);
  await until('the image in saving', async () => ((await statusAt(b.baseUrl, id)) === 'saving' ? true : undefined));

  await a.kill('SIGKILL');
  await until('node B returning the image to queued', async () => ((await statusAt(b.baseUrl, id)) === 'queued' ? true : undefined), 60_000);
  // The image takes data again, through the surviving node.
  const again = await putBytes(`${b.baseUrl}/v2/images/${id}/file`, Buffer.alloc(4096, 7));
  assert.equal(again.status, 204, describe(again));
  assert.equal(await statusAt(b.baseUrl, id), 'active');
});
