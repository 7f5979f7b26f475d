/**
 * Without image_cache_dir: downloads never touch a cache, the version list is v2.15 CURRENT,
 * and /v2/cache answers as Glance 25.1.0 without a cache (its routes exist; the controller
 * checks the policy, then answers 404 "Caching via API is not supported at this site.").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { json } from '../helpers/http.js';

const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'p-admin' };

let iris: IrisProcess;
before(async () => {
  iris = await startIris();
});
after(() => iris.stop());

test('cache off: policy first, then 404 for every cache call; v2.15 first, v2.17 CURRENT', async () => {
  const base = iris.baseUrl;
  const versions = await json('GET', `${base}/versions`);
  assert.equal((versions.body.versions as { id: string; status: string }[])[0]?.id, 'v2.15');
  assert.equal((versions.body.versions as { id: string; status: string }[]).find((v) => v.status === 'CURRENT')?.id, 'v2.17');
  for (const [method, path] of [
    ['GET', '/v2/cache'],
    ['DELETE', '/v2/cache'],
    ['POST', '/v2/cache/clean'],
    ['POST', '/v2/cache/prune'],
  ] as const) {
    const refused = await json(method, `${base}${path}`);
    assert.equal(refused.status, 403, `${method} ${path} anonymous`);
    const off = await json(method, `${base}${path}`, undefined, ADMIN);
    assert.equal(off.status, 404, `${method} ${path} admin`);
    assert.equal(off.body.message, 'Caching via API is not supported at this site.<br /><br />\n\n\n');
  }
  const created = await json('POST', `${base}/v2/images`, { name: 'x', disk_format: 'raw', container_format: 'bare' });
  const put = await json('PUT', `${base}/v2/cache/${created.body.id}`, undefined, ADMIN);
  assert.equal(put.status, 404);
  assert.equal(put.body.message, 'Caching via API is not supported at this site.<br /><br />\n\n\n');
});
