/** GET /v2/images: filters, sorting, keyset pagination and Glance's links and errors. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, patch, putBytes } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
const names = ['list-a', 'list-b', 'list-c', 'list-d'];
const ids: Record<string, string> = {};
const scope = `name=in:${names.join(',')}`;

before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
  const formats = ['raw', 'qcow2', 'raw', 'iso'];
  const colors = ['red', 'blue', 'red', 'green'];
  for (let i = 0; i < names.length; i++) {
    const r = await json('POST', `${base}/v2/images`, {
      name: names[i],
      disk_format: formats[i],
      container_format: 'bare',
      tags: [colors[i]],
      color: colors[i],
    });
    assert.equal(r.status, 201, describe(r));
    ids[names[i]!] = r.body.id;
  }
  await patch(`${base}/v2/images/${ids['list-d']}`, [{ op: 'replace', path: '/os_hidden', value: true }]);
  assert.equal((await putBytes(`${base}/v2/images/${ids['list-a']}/file`, Buffer.alloc(100, 1))).status, 204);
  assert.equal((await putBytes(`${base}/v2/images/${ids['list-c']}/file`, Buffer.alloc(2000, 1))).status, 204);
});
after(() => iris.stop());

const namesOf = (r: { body: { images: { name: string }[] } }) => r.body.images.map((i) => i.name);

test('pagination with marker follows the next link to the end', async () => {
  const first = await json('GET', `${base}/v2/images?limit=2&sort=name:asc&${scope}`);
  assert.equal(first.status, 200, describe(first));
  assert.deepEqual(namesOf(first), ['list-a', 'list-b']);
  assert.equal(first.body.first, '/v2/images?limit=2&sort=name%3Aasc&name=in%3Alist-a%2Clist-b%2Clist-c%2Clist-d');
  assert.equal(first.body.next, `${first.body.first}&marker=${ids['list-b']}`);
  const second = await json('GET', `${base}${first.body.next}`);
  assert.deepEqual(namesOf(second), ['list-c'], 'hidden list-d is not listed by default');
  assert.equal(second.body.next, undefined);
});

test('filters: tags, properties, in:, os_hidden, size, created_at, status', async () => {
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?tag=red&color=red&sort=name:asc&${scope}`)), ['list-a', 'list-c']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?disk_format=in:iso,qcow2&sort=name:asc&${scope}`)), ['list-b']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?os_hidden=true&${scope}`)), ['list-d']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?size_min=1000&${scope}`)), ['list-c']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?size_max=1000&${scope}`)), ['list-a']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?status=active&sort=name:asc&${scope}`)), ['list-a', 'list-c']);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?status=bogus`)), []);
  const since = await json('GET', `${base}/v2/images?created_at=gte:2000-01-01T00:00:00Z&name=list-a`);
  assert.deepEqual(namesOf(since), ['list-a']);
  const future = await json('GET', `${base}/v2/images?created_at=gt:2999-01-01T00:00:00Z&name=list-a`);
  assert.deepEqual(namesOf(future), []);
});

test('sorting: multi-key new syntax and classic repeated sort_key/sort_dir', async () => {
  const expected = ['list-b', 'list-c', 'list-a'];
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?sort=disk_format:asc,name:desc&${scope}`)), expected);
  assert.deepEqual(
    namesOf(await json('GET', `${base}/v2/images?sort_key=disk_format&sort_key=name&sort_dir=asc&sort_dir=desc&${scope}`)),
    expected,
  );
  assert.deepEqual(
    namesOf(await json('GET', `${base}/v2/images?sort_key=name&sort_dir=desc&limit=3&disk_format=raw&${scope}`)),
    ['list-c', 'list-a'],
  );
});

test('list errors with Glance statuses', async () => {
  const cases: [string, number][] = [
    ['marker=00000000-0000-0000-0000-000000000000', 400],
    ['marker=garbage', 400],
    ['limit=-1', 400],
    ['limit=abc', 400],
    ['sort=foo:asc', 400],
    ['sort=name:sideways', 400],
    ['sort=name&sort_key=name', 400],
    ['size_min=abc', 400],
    ['created_at=gte:yesterday', 400],
    ['visibility=bogus', 400],
    ['member_status=bogus', 400],
    ['os_hidden=maybe', 400],
  ];
  for (const [q, status] of cases) {
    const r = await json('GET', `${base}/v2/images?${q}`);
    assert.equal(r.status, status, `${q} → ${describe(r)}`);
  }
  const zero = await json('GET', `${base}/v2/images?limit=0&name=list-a`);
  assert.equal(zero.status, 200);
  assert.deepEqual(zero.body.images, []);
  const big = await json('GET', `${base}/v2/images?limit=100000&name=list-a`);
  assert.deepEqual(namesOf(big), ['list-a'], 'limit above api_limit_max is capped, not refused');
});

test('visibility scopes for projects: own, shared membership, community only on request', async () => {
  const a = { 'X-Project-Id': 'vis-a', 'X-Roles': 'member' };
  const b = { 'X-Project-Id': 'vis-b', 'X-Roles': 'member' };
  const comm = await json('POST', `${base}/v2/images`, { name: 'community-img', visibility: 'community' }, a);
  assert.equal(comm.status, 201, describe(comm));
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?name=community-img`, undefined, b)), []);
  assert.deepEqual(
    namesOf(await json('GET', `${base}/v2/images?visibility=community&name=community-img`, undefined, b)),
    ['community-img'],
  );
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?name=community-img`, undefined, a)), ['community-img']);
  // A null-owner shared image (made by the project-less admin) is readable by id, not listed.
  const nullOwner = await json('POST', `${base}/v2/images`, { name: 'null-owner' });
  assert.equal((await json('GET', `${base}/v2/images/${nullOwner.body.id}`, undefined, b)).status, 200);
  assert.deepEqual(namesOf(await json('GET', `${base}/v2/images?name=null-owner`, undefined, b)), []);
});
