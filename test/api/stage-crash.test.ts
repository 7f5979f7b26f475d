/**
 * kill -9 during `PUT /v2/images/{id}/stage`, then restart on the same data dir: the image a
 * crash left `uploading` without its staged data is back to `queued` and can be staged again.
 * An image whose stage finished keeps `uploading` (Glance waits for the import call), unless
 * its staged data no longer has the recorded size.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';
import { startSlowUpload } from '../helpers/slow-upload.js';
import { files, partials, until } from '../helpers/store-files.js';

const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function server(dataDir: string): Promise<IrisProcess> {
  const iris = await startIris({ dataDir });
  cleanups.push(() => iris.stop());
  return iris;
}

async function newImage(base: string): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'stage-crash', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  return created.body.id;
}

async function stage(base: string, id: string, data: Buffer) {
  const res = await fetch(`${base}/v2/images/${id}/stage`, {
    method: 'PUT',
    headers: { ...ADMIN, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  return { status: res.status, text: await res.text() };
}

const show = async (base: string, id: string) => (await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN)).body;

test('kill -9 mid-stage: after restart the image is queued, nothing is staged, and staging again works', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-stage-crash-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const staging = join(dataDir, 'staging');
  const first = await server(dataDir);
  const id = await newImage(first.baseUrl);

  const up = startSlowUpload(`${first.baseUrl}/v2/images/${id}/stage`, { totalBytes: 64 << 20, headers: ADMIN });
  await up.sentAtLeast(1 << 20);
  await until('a partial staged file', async () => (partials(staging).length > 0 ? true : undefined));
  assert.equal((await show(first.baseUrl, id)).status, 'uploading');
  await first.kill('SIGKILL');
  up.stop();
  assert.ok((await up.settled).error !== undefined || (await up.settled).status !== undefined);

  const second = await server(dataDir);
  const image = await show(second.baseUrl, id);
  assert.equal(image.status, 'queued', JSON.stringify(image));
  assert.equal(image.size, null);
  assert.deepEqual([...files(staging), ...partials(staging)], [], 'no staged leftovers');
  assert.match(second.logs(), /images left uploading by an interrupted stage returned to queued/);

  const data = randomBytes(300_000);
  const again = await stage(second.baseUrl, id, data);
  assert.equal(again.status, 204, again.text);
  const staged = await show(second.baseUrl, id);
  assert.equal(staged.status, 'uploading');
  assert.equal(staged.size, data.length);
  const imported = await json('POST', `${second.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, ADMIN);
  assert.equal(imported.status, 202, describe(imported));
  const active = await until('the import to finish', async () => {
    const s = await show(second.baseUrl, id);
    return s.status === 'active' ? s : undefined;
  });
  assert.equal(active.size, data.length);
});

test('a finished stage survives a restart as uploading; staged data of the wrong size does not', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iris-stage-done-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const staging = join(dataDir, 'staging');
  const first = await server(dataDir);
  const complete = await newImage(first.baseUrl);
  const damaged = await newImage(first.baseUrl);
  assert.equal((await stage(first.baseUrl, complete, randomBytes(100_000))).status, 204);
  assert.equal((await stage(first.baseUrl, damaged, randomBytes(100_000))).status, 204);
  await first.kill('SIGKILL');
  // The damaged one lost data after its size was recorded (as after a crash of the disk).
  truncateSync(join(staging, damaged), 50_000);

  const second = await server(dataDir);
  const kept = await show(second.baseUrl, complete);
  assert.equal(kept.status, 'uploading', JSON.stringify(kept));
  assert.equal(kept.size, 100_000);
  const reset = await show(second.baseUrl, damaged);
  assert.equal(reset.status, 'queued', JSON.stringify(reset));
  assert.equal(reset.size, null);
  assert.deepEqual(files(staging), [complete], 'only the complete staged file is left');
  const imported = await json('POST', `${second.baseUrl}/v2/images/${complete}/import`, { method: { name: 'glance-direct' } }, ADMIN);
  assert.equal(imported.status, 202, describe(imported));
  await until('the import to finish', async () => ((await show(second.baseUrl, complete)).status === 'active' ? true : undefined));
});
