/**
 * API v2.18's POST /v2/cache/prune and POST /v2/cache/clean (Glance 2026.1, docs/cache.md)
 * through a real Iris: answers, policy denial, and the effect on the node's cache. The cache is
 * filled under a large image_cache_max_size, then the server restarts on the same data with a
 * smaller one (an operator lowering the limit): the cache is over it until something prunes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe as show, getBytes, json, putBytes } from '../helpers/http.js';
import { until } from '../helpers/store-files.js';

const KIB = 1024;
const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'p-admin', 'X-User-Id': 'u-admin' };
const MEMBER = { 'X-Roles': 'member,reader', 'X-Project-Id': 'p-member', 'X-User-Id': 'u-member' };

let work: string;
let cacheDir: string;
let iris: IrisProcess;
let base: string;
/** The three images cached before the restart. */
const ids: string[] = [];

const envWith = (maxSize: number) => ({
  IRIS__DEFAULT__IMAGE_CACHE_DIR: cacheDir,
  IRIS__DEFAULT__IMAGE_CACHE_MAX_SIZE: String(maxSize),
  IRIS__IRIS__IMAGE_CACHE_MIN_FREE_SPACE: '0',
  IRIS__DEFAULT__WORKER_SELF_REFERENCE_URL: 'http://127.0.0.1:3',
});

interface Entry {
  image_id: string;
  size: number;
}
const entries = async () => {
  const r = await json<{ cached_images: Entry[] }>('GET', `${base}/v2/cache`, undefined, ADMIN);
  assert.equal(r.status, 200, show(r));
  return r.body.cached_images;
};
function nodeDir(): string {
  const [dir] = readdirSync(cacheDir).filter((n) => n.startsWith('node-'));
  assert.ok(dir, `a node directory under ${cacheDir}`);
  return join(cacheDir, dir);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'iris-cache-v218-'));
  cacheDir = join(work, 'cache');
  const dataDir = join(work, 'data');
  const first = await startIris({ env: envWith(10 * 1024 * KIB), dataDir });
  try {
    base = first.baseUrl;
    for (let i = 0; i < 3; i++) {
      const created = await json('POST', `${base}/v2/images`, { name: `c${i}`, disk_format: 'raw', container_format: 'bare' });
      assert.equal(created.status, 201, show(created));
      const id = created.body.id as string;
      assert.equal((await putBytes(`${base}/v2/images/${id}/file`, randomBytes(100 * KIB))).status, 204);
      assert.equal((await getBytes(`${base}/v2/images/${id}/file`)).status, 200);
      await until(`${id} cached`, async () => ((await entries()).some((e) => e.image_id === id) ? true : undefined));
      ids.push(id);
    }
  } finally {
    await first.stop();
  }
  // 300 KiB cached, 250 KiB allowed from now on.
  iris = await startIris({ env: envWith(250 * KIB), dataDir });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the version list with the cache on leads with v2.18 CURRENT, then v2.17, and /v2.18/ routes', async () => {
  const r = await json('GET', `${base}/versions`);
  const listed = (r.body.versions as { id: string; status: string }[]).map((v) => `${v.id} ${v.status}`);
  assert.deepEqual(listed.slice(0, 5), ['v2.18 CURRENT', 'v2.17 SUPPORTED', 'v2.16 SUPPORTED', 'v2.15 SUPPORTED', 'v2.14 SUPPORTED']);
  // Other methods: 405 with Glance's Allow, not the /v2/cache/{image_id} route.
  for (const [method, path] of [
    ['GET', '/v2/cache/clean'],
    ['DELETE', '/v2/cache/clean'],
    ['PUT', '/v2/cache/prune'],
  ] as const) {
    const r405 = await json(method, `${base}${path}`, undefined, ADMIN);
    assert.equal(r405.status, 405, `${method} ${path}`);
    assert.equal(r405.headers.get('allow'), 'POST');
  }
});

test('POST /v2/cache/prune: 403 for a member (nothing pruned); as admin the LRU entries go until the cache fits, counted', async () => {
  const refused = await json('POST', `${base}/v2/cache/prune`, undefined, MEMBER);
  assert.equal(refused.status, 403, show(refused));
  assert.match(refused.text, /You are not authorized to complete cache_prune action\./);
  assert.equal((await entries()).length, 3, 'a refused prune removes nothing');

  const pruned = await json('POST', `${base}/v2.18/cache/prune`, undefined, ADMIN);
  assert.equal(pruned.status, 200, show(pruned));
  assert.equal(pruned.headers.get('content-type'), 'application/json');
  assert.deepEqual(pruned.body, { total_files_pruned: 1, total_bytes_pruned: 100 * KIB });
  const left = await entries();
  assert.equal(left.length, 2);
  assert.ok(left.reduce((n, e) => n + e.size, 0) <= 250 * KIB);
  const gone = ids.filter((id) => !left.some((e) => e.image_id === id));
  assert.equal(gone.length, 1);
  assert.equal(existsSync(join(nodeDir(), gone[0]!)), false, 'the pruned file is deleted');
  for (const e of left) assert.equal(existsSync(join(nodeDir(), e.image_id)), true);

  const again = await json('POST', `${base}/v2/cache/prune`, undefined, ADMIN);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { total_files_pruned: 0, total_bytes_pruned: 0 });
});

test('POST /v2/cache/clean: 403 for a member; as admin stalled incomplete files, old orphans and entries without a file go', async () => {
  // The clean Iris runs at start is asynchronous; this one waits behind it (one clean at a time).
  assert.equal((await json('POST', `${base}/v2/cache/clean`, undefined, ADMIN)).status, 200);
  const dir = nodeDir();
  const [broken, valid] = (await entries()).map((e) => e.image_id);
  assert.ok(broken !== undefined && valid !== undefined);
  unlinkSync(join(dir, broken)); // an entry whose file is gone
  const old = new Date(Date.now() - 2 * 86_400_000); // beyond the default 86400 s stall time
  const plant = (path: string, aged: boolean) => {
    writeFileSync(path, 'partial');
    if (aged) utimesSync(path, old, old);
    return path;
  };
  // <id>.<pid>.<random>: the pid is this test's (alive), so only age makes a file stalled.
  const stalled = plant(join(dir, 'incomplete', `stalled.${process.pid}.0001`), true);
  const writing = plant(join(dir, 'incomplete', `writing.${process.pid}.0002`), false);
  const orphan = plant(join(dir, 'orphan-old'), true);
  const young = plant(join(dir, 'orphan-young'), false);

  const refused = await json('POST', `${base}/v2/cache/clean`, undefined, MEMBER);
  assert.equal(refused.status, 403, show(refused));
  assert.match(refused.text, /You are not authorized to complete cache_clean action\./);
  for (const p of [stalled, writing, orphan, young]) assert.equal(existsSync(p), true, `${p} kept after a refused clean`);
  assert.equal((await entries()).length, 2);

  const cleaned = await json('POST', `${base}/v2/cache/clean`, undefined, ADMIN);
  assert.equal(cleaned.status, 200, show(cleaned));
  assert.equal(cleaned.text, '');
  assert.equal(cleaned.headers.get('content-type'), 'text/html; charset=UTF-8');
  assert.equal(existsSync(stalled), false, 'stalled incomplete file removed');
  assert.equal(existsSync(orphan), false, 'old file without an entry removed');
  assert.equal(existsSync(writing), true, 'a fresh incomplete file of a live writer is kept');
  assert.equal(existsSync(young), true, 'a young file without an entry is kept (it may be being recorded)');
  assert.deepEqual(
    (await entries()).map((e) => e.image_id),
    [valid],
    'the entry without a file is gone, the valid one kept',
  );
  assert.equal(existsSync(join(dir, valid)), true);
});
