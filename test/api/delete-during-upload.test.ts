/**
 * DELETE while the image's data is still coming in: the uploader gets Glance's 410 Gone before
 * it has finished sending (the server stops reading at once), and neither the store nor the
 * staging area keeps a blob or a temp file. The same for PUT /stage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';

const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
let iris: IrisProcess;
before(async () => {
  iris = await startIris();
});
after(() => iris.stop());

/** Every file under `dir`, temp areas included. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A PUT whose body is a stream this test writes by hand (chunked, never ended unless asked):
 * nothing reaches the server that the test did not push.
 */
function controlledPut(path: string) {
  const body = new PassThrough();
  const req = request(`${iris.baseUrl}${path}`, {
    method: 'PUT',
    headers: { ...ADMIN, 'Content-Type': 'application/octet-stream', Accept: '' },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
    });
    req.once('error', reject);
  });
  body.pipe(req);
  return { body, req, answer };
}

async function newImage(): Promise<string> {
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'doomed', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  return created.body.id;
}

for (const { kind, suffix, dir, message } of [
  {
    kind: 'upload',
    suffix: 'file',
    dir: 'images',
    message: (id: string) =>
      `410 Gone\n\nImage ${id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.\n\n   `,
  },
  {
    kind: 'stage',
    suffix: 'stage',
    dir: 'staging',
    message: (id: string) =>
      `410 Gone\n\nImage ${id} could not be found after staging. The image may have been deleted during the stage, cleaning up the staged data.\n\n   `,
  },
]) {
  test(`DELETE during ${kind}: 410 Gone arrives before the body is finished; nothing is left behind`, { timeout: 60_000 }, async () => {
    const id = await newImage();
    const store = join(iris.dataDir, dir);
    const put = controlledPut(`/v2/images/${id}/${suffix}`);
    let answered = false;
    void put.answer.then(() => (answered = true), () => undefined);
    put.body.write(randomBytes(1 << 20));
    // The server is writing: its partial file is in the store's temp area.
    await until('a partial file in the store', () => filesUnder(store).length > 0);
    const deleted = await json('DELETE', `${iris.baseUrl}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(deleted.status, 204, describe(deleted));

    // More data is offered but the body is never ended: only a server that stops reading
    // and answers at once lets this resolve.
    put.body.write(randomBytes(64 * 1024));
    const answer = await put.answer;
    assert.equal(put.req.writableEnded, false, 'answered while the body was still open');
    assert.ok(answered);
    assert.equal(answer.status, 410);
    assert.equal(answer.text, message(id));
    put.body.destroy();
    put.req.destroy();

    await until('the partial file to go', () => filesUnder(store).length === 0);
    assert.deepEqual(filesUnder(store), [], 'no blob, no temp file');
    const shown = await json('GET', `${iris.baseUrl}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(shown.status, 404);
  });
}

test('DELETE from another process during upload: the commit finds the image gone, 410, the blob is dropped', { timeout: 60_000 }, async () => {
  // A second server on the same database and store: its delete cannot signal this one's
  // upload, so only the compare-and-swap at commit time can notice.
  const other = await startIris({ dataDir: iris.dataDir });
  try {
    const id = await newImage();
    const put = controlledPut(`/v2/images/${id}/file`);
    put.body.write(randomBytes(256 * 1024));
    await until('a partial file in the store', () => filesUnder(join(iris.dataDir, 'images')).length > 0);
    const deleted = await json('DELETE', `${other.baseUrl}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(deleted.status, 204, describe(deleted));
    put.body.end(randomBytes(256 * 1024));
    const answer = await put.answer;
    assert.equal(answer.status, 410, answer.text);
    assert.match(answer.text, /could not be found after upload/);
    assert.deepEqual(filesUnder(join(iris.dataDir, 'images')), [], 'no blob, no temp file');
  } finally {
    await other.stop();
  }
});
