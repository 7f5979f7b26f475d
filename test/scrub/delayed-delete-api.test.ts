/**
 * Delayed delete over real HTTP against a started Iris with two file stores (multi-store) and
 * `delayed_delete = true`, and iris-scrubber (runScrubber, in-process, reading the same
 * configuration and SQLite file): what DELETE answers, what the API shows of a pending_delete
 * image (nothing, as Glance 25.1.0: its list always filters deleted = False and its get refuses a
 * deleted row, admins included), --restore, a run, the daemon, and glance-scrubber's errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runScrubber } from '../../src/cli/iris-scrubber.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { REPO_ROOT, startIris, type IrisProcess } from '../helpers/iris-server.js';

const ENV = {
  IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
  IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
  IRIS__DEFAULT__DELAYED_DELETE: 'true',
  IRIS__DEFAULT__SCRUB_TIME: '0',
  IRIS__DEFAULT__WAKEUP_TIME: '1',
};
const P1 = { 'X-Project-Id': 'p1', 'X-Roles': 'member', 'X-User-Id': 'u1' };
const ADMIN = { 'X-Project-Id': 'admin-project', 'X-Roles': 'admin,member', 'X-User-Id': 'root' };

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris({ env: ENV });
  base = iris.baseUrl;
});
after(() => iris.stop());

/** A stream collecting what is written to it. */
function sink(): Writable & { text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

/** iris-scrubber with the server's configuration; its exit code, stdout and stderr. */
async function scrubber(args: readonly string[], stop?: AbortSignal) {
  const stdout = sink();
  const stderr = sink();
  const code = await runScrubber(args, { stdout, stderr, env: { ...ENV, IRIS_DATA_DIR: iris.dataDir }, cwd: REPO_ROOT, stop });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** Files named after the image anywhere under the data dir but staging: its data in every store. */
function dataFiles(id: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== 'staging') walk(path);
      } else if (name === id) found.push(path);
    }
  };
  walk(iris.dataDir);
  return found.sort();
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, bound = 60_000): Promise<T> {
  for (let waited = 0; ; waited += 100) {
    const value = await probe();
    if (value !== undefined) return value;
    if (waited > bound) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** An active image of p1 with data in both stores (upload to local, copy-image to local2). */
async function imageInBothStores(data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'doomed', disk_format: 'raw', container_format: 'bare', tags: ['keep'], os_distro: 'cirros' }, P1);
  assert.equal(created.status, 201, describe(created));
  const id = created.body.id as string;
  const put = await putBytes(`${base}/v2/images/${id}/file`, data, P1);
  assert.equal(put.status, 204, describe(put));
  const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, ADMIN);
  assert.equal(copy.status, 202, describe(copy));
  await waitFor(async () => {
    const r = await json('GET', `${base}/v2/images/${id}`, undefined, P1);
    return r.body.stores === 'local,local2' && r.body.os_glance_importing_to_stores === '' ? r : undefined;
  }, 'copy-image to local2');
  return id;
}

const data = randomBytes(100_000);
let id: string;

test('DELETE answers 204; the image is then 404 to GET and DELETE and listed to nobody, admins asking status=pending_delete included; its data stays in both stores', async () => {
  id = await imageInBothStores(data);
  assert.equal(dataFiles(id).length, 2);
  const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, P1);
  assert.equal(del.status, 204, describe(del));
  for (const who of [P1, ADMIN, {}]) {
    const shown = await json('GET', `${base}/v2/images/${id}`, undefined, who);
    assert.equal(shown.status, 404);
    assert.equal(shown.body.message, `No image found with ID ${id}<br /><br />\n\n\n`);
    assert.equal((await json('GET', `${base}/v2/images?status=pending_delete`, undefined, who)).body.images.length, 0);
    const all = await json('GET', `${base}/v2/images`, undefined, who);
    assert.ok(!all.body.images.some((i: { id: string }) => i.id === id));
  }
  const again = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(again.status, 404, describe(again));
  assert.equal(again.body.message, `Failed to find image ${id} to delete<br /><br />\n\n\n`);
  assert.equal((await getBytes(`${base}/v2/images/${id}/file`, ADMIN)).status, 404);
  assert.equal(dataFiles(id).length, 2, 'data kept for the scrubber');
});

test('iris-scrubber --restore brings the image back to active with its data, tags and properties', async () => {
  const r = await scrubber(['--restore', id]);
  assert.deepEqual({ code: r.code, err: r.err }, { code: 0, err: '' });
  const shown = await json('GET', `${base}/v2/images/${id}`, undefined, P1);
  assert.equal(shown.status, 200, describe(shown));
  assert.equal(shown.body.status, 'active');
  assert.equal(shown.body.stores, 'local,local2');
  assert.deepEqual(shown.body.tags, ['keep']);
  assert.equal(shown.body.os_distro, 'cirros');
  const got = await getBytes(`${base}/v2/images/${id}/file`, P1);
  assert.equal(createHash('md5').update(got.bytes).digest('hex'), createHash('md5').update(data).digest('hex'));
  const twice = await scrubber(['--restore', id]);
  assert.deepEqual(twice, { code: 1, out: '', err: 'ERROR: cannot restore the image from active to active (wanted from_state=pending_delete)\n' });
});

test('after scrub_time, one iris-scrubber run deletes the data from both stores and the image for good', async () => {
  assert.equal((await json('DELETE', `${base}/v2/images/${id}`, undefined, P1)).status, 204);
  const r = await scrubber(['--once']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(dataFiles(id), []);
  const late = await scrubber(['--restore', id]);
  assert.deepEqual(late, { code: 1, out: '', err: 'ERROR: cannot restore the image from deleted to active (wanted from_state=pending_delete)\n' });
});

test('an image without data is deleted at once; a deactivated one is refused with 400, as Glance', async () => {
  const queued = await json('POST', `${base}/v2/images`, { name: 'empty' }, P1);
  assert.equal((await json('DELETE', `${base}/v2/images/${queued.body.id}`, undefined, P1)).status, 204);
  const r = await scrubber(['--restore', queued.body.id]);
  assert.equal(r.err, 'ERROR: cannot restore the image from deleted to active (wanted from_state=pending_delete)\n');

  const created = await json('POST', `${base}/v2/images`, { name: 'off', disk_format: 'raw', container_format: 'bare' }, P1);
  const off = created.body.id as string;
  assert.equal((await putBytes(`${base}/v2/images/${off}/file`, Buffer.from('abc'), P1)).status, 204);
  assert.equal((await json('POST', `${base}/v2/images/${off}/actions/deactivate`, undefined, ADMIN)).status, 204);
  const del = await json('DELETE', `${base}/v2/images/${off}`, undefined, ADMIN);
  // The peer (Glance 25.1.0 with delayed_delete) answers exactly this.
  assert.equal(del.status, 400, describe(del));
  assert.equal(del.body.message, 'Image status transition from deactivated to pending_delete is not allowed<br /><br />\n\n\n');
});

test("glance-scrubber's errors: unknown image, --restore with --daemon", async () => {
  const unknown = '10000000-0000-4000-8000-0000000000aa';
  assert.deepEqual(await scrubber(['--restore', unknown]), { code: 1, out: '', err: `ERROR: No image found with ID ${unknown}\n` });
  assert.deepEqual(await scrubber(['--restore', unknown, '--daemon']), {
    code: 1,
    out: '',
    err: 'ERROR: The restore and daemon options should not be set together. Please use either of them in one request.\n',
  });
});

test('as a daemon, iris-scrubber deletes what is deleted while it runs, and stops on its signal', async () => {
  const stop = new AbortController();
  const daemon = scrubber(['--daemon'], stop.signal);
  try {
    const created = await json('POST', `${base}/v2/images`, { name: 'later', disk_format: 'raw', container_format: 'bare' }, P1);
    const later = created.body.id as string;
    assert.equal((await putBytes(`${base}/v2/images/${later}/file`, Buffer.from('bytes'), P1)).status, 204);
    assert.equal(dataFiles(later).length, 1);
    assert.equal((await json('DELETE', `${base}/v2/images/${later}`, undefined, P1)).status, 204);
    await waitFor(async () => (dataFiles(later).length === 0 ? true : undefined), 'the daemon to scrub the image');
  } finally {
    stop.abort();
  }
  const r = await daemon;
  assert.equal(r.code, 0, r.err);
});
