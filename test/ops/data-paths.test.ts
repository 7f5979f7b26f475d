import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris } from '../helpers/iris-server.js';
import { json, putBytes } from '../helpers/http.js';
import { runIris } from '../helpers/run-iris.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iris-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };

test('filesystem_store_datadir below a regular file: one line naming the option and the path, exit 2', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain-file'), 'x');
  const store = join(dir, 'plain-file', 'images');
  const r = await runIris([], { IRIS_DATA_DIR: dir, IRIS__GLANCE_STORE__FILESYSTEM_STORE_DATADIR: store });
  assert.equal(r.served, false);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.equal(lines[0], `iris: [glance_store] filesystem_store_datadir: ${store}: a part of the path is a file, not a directory (ENOTDIR)`);
});

test('the database or a multi-store directory under a file, and a log file without its directory: one line each, exit 2', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'f'), 'x');
  const db = await runIris([], { IRIS_DATA_DIR: dir, IRIS__DATABASE__CONNECTION: `sqlite:///${dir}/f/iris.sqlite` });
  assert.equal(db.code, 2);
  assert.match(db.stderr, new RegExp(`^iris: \\[database\\] connection: ${dir}/f: exists and is not a directory \\(EEXIST\\)\\n$`));
  const multi = await runIris([], {
    IRIS_DATA_DIR: dir,
    IRIS__DEFAULT__ENABLED_BACKENDS: 'fast:file',
    IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'fast',
    IRIS__FAST__FILESYSTEM_STORE_DATADIR: join(dir, 'f', 'fast'),
  });
  assert.equal(multi.code, 2);
  assert.match(multi.stderr, new RegExp(`^iris: \\[fast\\] filesystem_store_datadir: ${dir}/f/fast: .*\\n$`));
  const log = await runIris([], { IRIS_DATA_DIR: dir, IRIS__DEFAULT__LOG_FILE: join(dir, 'no', 'such', 'iris.log') });
  assert.equal(log.code, 2);
  assert.match(log.stderr, new RegExp(`^iris: \\[DEFAULT\\] log_file/log_dir: cannot open ${dir}/no/such/iris.log: .*ENOENT.*\\n$`));
});

test('every data path follows IRIS_DATA_DIR: uploads, staging and imports leave the working directory untouched', async (t) => {
  const cwd = tempDir(t);
  const data = tempDir(t);
  const iris = await startIris({ cwd, dataDir: data });
  t.after(() => iris.stop());
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'u', disk_format: 'raw', container_format: 'bare' }, A);
  assert.equal((await putBytes(`${iris.baseUrl}/v2/images/${created.body.id}/file`, Buffer.alloc(4096, 1), A)).status, 204);
  const staged = await json('POST', `${iris.baseUrl}/v2/images`, { name: 's', disk_format: 'raw', container_format: 'bare' }, A);
  const id = staged.body.id as string;
  assert.equal((await putBytes(`${iris.baseUrl}/v2/images/${id}/stage`, Buffer.alloc(4096, 2), A)).status, 204);
  assert.equal((await json('POST', `${iris.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, A)).status, 202);
  for (;;) {
    const image = (await json('GET', `${iris.baseUrl}/v2/images/${id}`, undefined, A)).body;
    if (image.status === 'active') break;
    await sleep(50);
  }
  assert.deepEqual(readdirSync(cwd), [], 'nothing written in the working directory');
  const top = readdirSync(data).sort();
  assert.ok(top.includes('iris.sqlite') && top.includes('images') && top.includes('staging'), top.join(','));
  assert.equal(readdirSync(join(data, 'images')).filter((n) => !n.startsWith('.')).length, 2);
});
