/**
 * LRU pruning under a small image_cache_max_size through a real Iris, and the operator's
 * `iris-manage cache` commands on the same node's cache (same configuration, same database).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runManage } from '../../src/cli/iris-manage.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe as show, getBytes, json, putBytes } from '../helpers/http.js';
import { until } from '../helpers/store-files.js';

const MIB = 1024 * 1024;
/** The cache API's rules default to role:admin (an anonymous hybrid caller is refused, as by Glance). */
const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'p-admin', 'X-User-Id': 'u-admin' };

let iris: IrisProcess;
let base: string;
let work: string;
let conf: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'iris-cache-prune-'));
  const dataDir = join(work, 'data');
  conf = join(work, 'iris.conf');
  // One file read by the server and by iris-manage: they must agree on the node and the database.
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      `image_cache_dir = ${join(work, 'cache')}`,
      `image_cache_max_size = ${Math.round(2.5 * MIB)}`,
      'worker_self_reference_url = http://127.0.0.1:2',
      '[iris]',
      'image_cache_min_free_space = 0',
      `data_dir = ${dataDir}`,
      '',
    ].join('\n'),
  );
  iris = await startIris({ args: ['--config-file', conf], dataDir });
  base = iris.baseUrl;
});
after(async () => {
  await iris.stop();
  rmSync(work, { recursive: true, force: true });
});

async function manage(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runManage(['--config-file', conf, ...argv], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {}, cwd: work });
  return { code, out, err };
}

async function imageWith(data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'lru', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, show(created));
  assert.equal((await putBytes(`${base}/v2/images/${created.body.id}/file`, data)).status, 204);
  return created.body.id as string;
}

interface Entry {
  image_id: string;
  hits: number;
}
async function entries(): Promise<Entry[]> {
  return (await json<{ cached_images: Entry[] }>('GET', `${base}/v2/cache`, undefined, ADMIN)).body.cached_images;
}
const until1 = (what: string, ok: (e: Entry[]) => boolean) => until(what, async () => ((x) => (ok(x) ? x : undefined))(await entries()));

test('the least recently used image is pruned when the cache grows past image_cache_max_size', async () => {
  const [a, b, c] = [await imageWith(randomBytes(MIB)), await imageWith(randomBytes(MIB)), await imageWith(randomBytes(MIB))];
  await getBytes(`${base}/v2/images/${a}/file`);
  await until1('a cached', (e) => e.some((x) => x.image_id === a));
  await getBytes(`${base}/v2/images/${b}/file`);
  await until1('b cached', (e) => e.some((x) => x.image_id === b));
  await getBytes(`${base}/v2/images/${a}/file`); // a: a hit, now more recent than b
  await until1('the hit on a recorded', (e) => e.some((x) => x.image_id === a && x.hits === 1));
  await getBytes(`${base}/v2/images/${c}/file`);
  const after = await until1('c cached', (e) => e.some((x) => x.image_id === c));
  assert.deepEqual(after.map((x) => x.image_id).sort(), [a, c].sort(), 'b was the least recently used');
});

test('iris-manage cache list|queue|delete|prune|clean act on the same node', async () => {
  const id = await imageWith(randomBytes(4096));
  const queued = await manage(['cache', 'queue', id]);
  assert.deepEqual(queued, { code: 0, out: `Image ${id} queued for caching.\n`, err: '' });
  assert.equal((await manage(['cache', 'queue', id])).out, `Image ${id} is already queued.\n`);
  const queue = (await json<{ queued_images: string[] }>('GET', `${base}/v2/cache`, undefined, ADMIN)).body.queued_images;
  assert.deepEqual(queue, [id], 'the API node sees what iris-manage queued');
  const listed = await manage(['cache', 'list']);
  assert.equal(listed.code, 0);
  assert.match(listed.out, /^Cached images on http:\/\/127\.0\.0\.1:2: 2\n/);
  assert.match(listed.out, new RegExp(`Queued images: 1\\n${id}\\n$`));
  assert.deepEqual(await manage(['cache', 'delete', id]), { code: 0, out: `Image ${id} removed from the cache queue.\n`, err: '' });
  assert.deepEqual(await manage(['cache', 'prune']), { code: 0, out: 'Pruned 0 image(s), 0 bytes.\n', err: '' });
  assert.deepEqual(await manage(['cache', 'clean']), { code: 0, out: 'Removed 0 stalled incomplete file(s), 0 invalid entries, 0 orphan file(s).\n', err: '' });
  const missing = await manage(['cache', 'queue', '00000000-0000-4000-8000-00000000dead']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /Image 00000000-0000-4000-8000-00000000dead not found\./);
});
