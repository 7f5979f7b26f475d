/**
 * Crash in the middle of an upload: SIGKILL the whole Iris process group while a chunked
 * PUT /v2/images/{id}/file is streaming, restart on the same data dir, and expect the start-up
 * sweep (STYLE.md, upload protocol) to have put the image back to `queued` with no size or
 * checksums and no stray blob or staging file left in the store, and a new upload to work.
 * Always runs against a private Iris (it must be killable), never IRIS_TEST_TARGET. Runs with
 * one process and with workers=2 (node:cluster: the primary recovers before forking).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startIris, withTimeout, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { startSlowUpload } from '../helpers/slow-upload.js';

const MiB = 1024 * 1024;
const running: IrisProcess[] = [];
const dataDirs: string[] = [];

after(async () => {
  for (const iris of running) await iris.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** Every file (not directory) under `dir`, with sizes; [] when `dir` does not exist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} (${e.isFile() ? statSync(p).size : 'not a regular file'})`);
    }
  };
  walk(dir);
  return out.sort();
}

function tree(dataDir: string): string {
  return `data dir ${dataDir}:\n  ${filesUnder(dataDir).join('\n  ') || '(empty)'}`;
}

async function waitForStatus(base: string, id: string, want: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    const r = await json('GET', `${base}/v2/images/${id}`);
    last = r.status === 200 ? r.body.status : describe(r);
    if (last === want) return last;
    await new Promise((res) => setTimeout(res, 50));
  }
  return last;
}

for (const workers of [1, 2]) {
  test(`SIGKILL during an upload (workers=${workers}): after restart the image is queued and the store is clean`, { timeout: 180_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'iris-crash-'));
    dataDirs.push(dataDir);
    // The store is this node's alone: every partial write is abandoned at restart, whatever its age.
    const env = { IRIS__DEFAULT__WORKERS: String(workers), IRIS__IRIS__PARTIAL_WRITE_MAX_AGE: '0' };
    const first = await startIris({ dataDir, env });
    running.push(first);
    const base1 = first.baseUrl;

    const created = await json('POST', `${base1}/v2/images`, {
      name: 'crash-me',
      disk_format: 'raw',
      container_format: 'bare',
    });
    assert.equal(created.status, 201, describe(created));
    const id: string = created.body.id;

    // ~20 MiB in 64 KiB chunks every 20 ms (≈6 s): long enough to kill it mid-way.
    const upload = startSlowUpload(`${base1}/v2/images/${id}/file`, { totalBytes: 20 * MiB });
    await withTimeout(upload.sentAtLeast(MiB), 15_000, 'sending the first MiB');
    const seen = await waitForStatus(base1, id, 'saving', 10_000);
    assert.equal(seen, 'saving', `image never reached saving while ${upload.sent()} bytes were sent\n${first.logs()}`);
    // Let a few more chunks reach the store so there is a partial blob to leave behind.
    await withTimeout(upload.sentAtLeast(upload.sent() + 256 * 1024), 15_000, 'sending more bytes');
    const before = tree(dataDir);
    t.diagnostic(`at the kill (${upload.sent()} bytes sent): ${before.replace(/\n\s*/g, " ")}`);

    const exit = await withTimeout(first.kill('SIGKILL'), 10_000, 'SIGKILL of the Iris process group');
    upload.stop();
    running.splice(running.indexOf(first), 1);
    assert.equal(exit.signal, 'SIGKILL', `Iris exited by itself before the kill: ${JSON.stringify(exit)}\n${first.logs()}`);
    const outcome = await withTimeout(upload.settled, 10_000, 'the upload request to fail');
    assert.equal(outcome.status, undefined, `the upload was answered before the kill: ${JSON.stringify(outcome)}`);

    const second = await startIris({ dataDir, env });
    running.push(second);
    const base2 = second.baseUrl;
    const context = `\nbefore the kill: ${before}\nafter restart: ${tree(dataDir)}\n--- restarted Iris log ---\n${second.logs()}`;

    const got = await json('GET', `${base2}/v2/images/${id}`);
    assert.equal(got.status, 200, describe(got) + context);
    assert.equal(got.body.status, 'queued', `status after restart: ${got.body.status}${context}`);
    assert.equal(got.body.size, null, context);
    assert.equal(got.body.checksum, null, context);
    assert.equal(got.body.os_hash_value, null, context);
    assert.deepEqual(filesUnder(join(dataDir, 'images')), [], `stray files in the store${context}`);

    // The image is usable again: a full upload (with Content-Length this time) succeeds.
    const data = randomBytes(5 * MiB + 3);
    const put = await putBytes(`${base2}/v2/images/${id}/file`, data);
    assert.equal(put.status, 204, describe(put) + context);
    const done = await json('GET', `${base2}/v2/images/${id}`);
    assert.equal(done.status, 200, describe(done));
    assert.equal(done.body.status, 'active', describe(done));
    assert.equal(done.body.size, data.length);
    assert.equal(done.body.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(done.body.os_hash_value, createHash('sha512').update(data).digest('hex'));
    const down = await getBytes(`${base2}/v2/images/${id}/file`);
    assert.equal(down.status, 200);
    assert.ok(down.bytes.equals(data), 'downloaded bytes differ from the upload');
  });
}
