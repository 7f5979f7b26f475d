/**
 * The core lifecycle over real HTTP against a started Iris: create, show, update (both PATCH
 * dialects), tags, upload, download (whole and ranged), deactivate/reactivate, delete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, patch, putBytes } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
});
after(() => iris.stop());

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha512 = (b: Uint8Array) => createHash('sha512').update(b).digest('hex');

test('version discovery answers 300 on / and 200 on /versions', async () => {
  const root = await json('GET', `${base}/`);
  assert.equal(root.status, 300);
  assert.equal(root.body.versions[0].id, 'v2.15');
  // Upstream lists v2.17 (the locations API) CURRENT after the store versions.
  assert.equal(root.body.versions[0].status, 'SUPPORTED');
  assert.ok(root.body.versions.some((v: { id: string; status: string }) => v.id === 'v2.17' && v.status === 'CURRENT'));
  assert.equal(root.body.versions[0].links[0].href, `${base}/v2/`);
  const versions = await json('GET', `${base}/versions`);
  assert.equal(versions.status, 200);
  assert.deepEqual(versions.body, root.body);
  assert.equal(root.headers.get('x-openstack-request-id'), null);
});

test('create → show → list with Glance fields, defaults and headers', async () => {
  const r = await json('POST', `${base}/v2/images`, {
    name: 'cirros',
    disk_format: 'qcow2',
    container_format: 'bare',
    min_disk: 1,
    tags: ['t1', 'boot', 't1'],
    hw_arch: 'x86_64',
  });
  assert.equal(r.status, 201, describe(r));
  const img = r.body;
  assert.equal(r.headers.get('location'), `${base}/v2/images/${img.id}`);
  assert.match(r.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
  assert.equal(img.status, 'queued');
  assert.equal(img.visibility, 'shared');
  assert.equal(img.owner, null);
  assert.equal(img.protected, false);
  assert.equal(img.os_hidden, false);
  assert.equal(img.min_ram, 0);
  assert.equal(img.min_disk, 1);
  assert.equal(img.size, null);
  assert.equal(img.virtual_size, null);
  assert.equal(img.checksum, null);
  assert.equal(img.hw_arch, 'x86_64');
  assert.deepEqual([...img.tags].sort(), ['boot', 't1']);
  assert.match(img.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.equal(img.self, `/v2/images/${img.id}`);
  assert.equal(img.file, `/v2/images/${img.id}/file`);
  assert.equal(img.schema, '/v2/schemas/image');
  // Glance's key order: extra properties first, then core fields.
  assert.equal(Object.keys(img)[0], 'hw_arch');

  const shown = await json('GET', `${base}/v2/images/${img.id}`);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body, img);

  const listed = await json('GET', `${base}/v2/images?name=cirros`);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.images.map((i: any) => i.id), [img.id]);
  assert.equal(listed.body.first, '/v2/images?name=cirros');
  assert.equal(listed.body.schema, '/v2/schemas/images');
});

test('caller-chosen id; reusing it (even after delete) is 409', async () => {
  const id = '3f0c8a6e-2b7f-4c7e-9a55-0d3c2a1b9e01';
  const r = await json('POST', `${base}/v2/images`, { id, name: 'mine' });
  assert.equal(r.status, 201, describe(r));
  assert.equal(r.body.id, id);
  assert.equal((await json('POST', `${base}/v2/images`, { id })).status, 409);
  assert.equal((await json('DELETE', `${base}/v2/images/${id}`)).status, 204);
  assert.equal((await json('POST', `${base}/v2/images`, { id })).status, 409);
});

test('upload and download: checksums in one pass, ranges, Content-MD5', async () => {
  const { body: img } = await json('POST', `${base}/v2/images`, { name: 'data', disk_format: 'raw', container_format: 'bare' });
  const empty = await getBytes(`${base}/v2/images/${img.id}/file`);
  assert.equal(empty.status, 204);

  const data = randomBytes(1024 * 1024 + 7);
  const up = await putBytes(`${base}/v2/images/${img.id}/file`, data);
  assert.equal(up.status, 204, describe(up));

  const shown = (await json('GET', `${base}/v2/images/${img.id}`)).body;
  assert.equal(shown.status, 'active');
  assert.equal(shown.size, data.length);
  assert.equal(shown.virtual_size, data.length, 'raw: virtual_size = size');
  assert.equal(shown.checksum, md5(data));
  assert.equal(shown.os_hash_algo, 'sha512');
  assert.equal(shown.os_hash_value, sha512(data));

  const down = await getBytes(`${base}/v2/images/${img.id}/file`);
  assert.equal(down.status, 200);
  assert.equal(down.headers.get('content-md5'), md5(data));
  assert.equal(down.headers.get('content-type'), 'application/octet-stream');
  assert.equal(Number(down.headers.get('content-length')), data.length);
  assert.ok(down.bytes.equals(data));

  const part = await getBytes(`${base}/v2/images/${img.id}/file`, { Range: 'bytes=0-9' });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 0-9/${data.length}`);
  assert.equal(part.headers.get('content-md5'), md5(data), 'Content-MD5 is of the whole image, as Glance');
  assert.ok(part.bytes.equals(data.subarray(0, 10)));

  const tail = await getBytes(`${base}/v2/images/${img.id}/file`, { Range: 'bytes=-5' });
  assert.equal(tail.status, 206);
  assert.ok(tail.bytes.equals(data.subarray(data.length - 5)));

  const open = await getBytes(`${base}/v2/images/${img.id}/file`, { Range: `bytes=${data.length - 3}-` });
  assert.equal(open.status, 206);
  assert.equal(open.bytes.length, 3);

  const past = await getBytes(`${base}/v2/images/${img.id}/file`, { Range: `bytes=${data.length - 2}-${data.length + 100}` });
  assert.equal(past.status, 206, 'a range running past the end is truncated');
  assert.equal(past.bytes.length, 2);

  assert.equal((await getBytes(`${base}/v2/images/${img.id}/file`, { Range: `bytes=${data.length}-` })).status, 416);
  assert.equal((await getBytes(`${base}/v2/images/${img.id}/file`, { Range: 'items=0-9' })).status, 416);
  assert.equal((await getBytes(`${base}/v2/images/${img.id}/file`, { Range: 'bytes=0-1,5-6' })).status, 400);

  const again = await putBytes(`${base}/v2/images/${img.id}/file`, Buffer.from('again'));
  assert.equal(again.status, 409, describe(again));
});

test('upload refuses other media types with 415, before looking at the image', async () => {
  const r = await json('PUT', `${base}/v2/images/00000000-0000-0000-0000-000000000000/file`, 'hello', {
    'Content-Type': 'application/json',
  });
  assert.equal(r.status, 415, describe(r));
  assert.equal(r.body.title, 'Unsupported Media Type');
});

test('chunked upload without Content-Length', async () => {
  const { body: img } = await json('POST', `${base}/v2/images`, { name: 'chunked', disk_format: 'raw', container_format: 'bare' });
  const parts = [randomBytes(70000), randomBytes(30000), randomBytes(4)];
  const all = Buffer.concat(parts);
  const stream = new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  const res = await fetch(`${base}/v2/images/${img.id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  assert.equal(res.status, 204, await res.text());
  const shown = (await json('GET', `${base}/v2/images/${img.id}`)).body;
  assert.equal(shown.size, all.length);
  assert.equal(shown.checksum, md5(all));
});

test('PATCH: RFC 6902 dialect and the older v2.0 dialect', async () => {
  const { body: img } = await json('POST', `${base}/v2/images`, { name: 'p', hw_arch: 'x86_64' });
  const r = await patch(`${base}/v2/images/${img.id}`, [
    { op: 'replace', path: '/name', value: 'renamed' },
    { op: 'add', path: '/os_distro', value: 'cirros' },
    { op: 'remove', path: '/hw_arch' },
    { op: 'replace', path: '/min_ram', value: 512 },
    { op: 'replace', path: '/tags', value: ['a', 'b'] },
  ]);
  assert.equal(r.status, 200, describe(r));
  assert.equal(r.body.name, 'renamed');
  assert.equal(r.body.os_distro, 'cirros');
  assert.equal(r.body.hw_arch, undefined);
  assert.equal(r.body.min_ram, 512);
  assert.deepEqual([...r.body.tags].sort(), ['a', 'b']);

  const old = await json('PATCH', `${base}/v2/images/${img.id}`, [{ replace: '/name', value: 'v20' }], {
    'Content-Type': 'application/openstack-images-v2.0-json-patch',
  });
  assert.equal(old.status, 200, describe(old));
  assert.equal(old.body.name, 'v20');

  const plain = await json('PATCH', `${base}/v2/images/${img.id}`, [{ op: 'replace', path: '/name', value: 'y' }]);
  assert.equal(plain.status, 415);
  assert.match(plain.headers.get('accept-patch') ?? '', /openstack-images-v2\.1-json-patch/);
});

test('PATCH errors are all-or-nothing with Glance statuses', async () => {
  const { body: img } = await json('POST', `${base}/v2/images`, { name: 'atomic' });
  const url = `${base}/v2/images/${img.id}`;
  const cases: [unknown, number][] = [
    [[{ op: 'replace', path: '/name', value: 'changed' }, { op: 'replace', path: '/status', value: 'active' }], 403],
    [[{ op: 'replace', path: '/name', value: 'changed' }, { op: 'add', path: '/os_glance_x', value: 'v' }], 403],
    [[{ op: 'replace', path: '/name', value: 'changed' }, { op: 'remove', path: '/nonexistent' }], 409],
    [[{ op: 'replace', path: '/name', value: 'changed' }, { op: 'replace', path: '/min_ram', value: -1 }], 400],
    [[{ op: 'frobnicate', path: '/name', value: 'y' }], 400],
    [{ op: 'replace', path: '/name', value: 'y' }, 400],
    [[{ op: 'add', path: '/a/b', value: 'v' }], 400],
  ];
  for (const [ops, status] of cases) {
    const r = await json('PATCH', url, ops, { 'Content-Type': 'application/openstack-images-v2.1-json-patch' });
    assert.equal(r.status, status, `${JSON.stringify(ops)} → ${describe(r)}`);
  }
  assert.equal((await json('GET', url)).body.name, 'atomic', 'nothing applied');
});

test('tags, deactivate/reactivate, protected, delete', async () => {
  const { body: img } = await json('POST', `${base}/v2/images`, { name: 'life', disk_format: 'raw', container_format: 'bare' });
  const url = `${base}/v2/images/${img.id}`;
  assert.equal((await json('PUT', `${url}/tags/newtag`)).status, 204);
  assert.equal((await json('PUT', `${url}/tags/newtag`)).status, 204, 'adding a tag twice is fine');
  assert.deepEqual((await json('GET', url)).body.tags, ['newtag']);
  assert.equal((await json('DELETE', `${url}/tags/newtag`)).status, 204);
  assert.equal((await json('DELETE', `${url}/tags/newtag`)).status, 404);

  assert.equal((await json('POST', `${url}/actions/deactivate`)).status, 403, 'queued cannot be deactivated');
  assert.equal((await putBytes(`${url}/file`, Buffer.from('0123456789'))).status, 204);
  assert.equal((await json('POST', `${url}/actions/deactivate`)).status, 204);
  assert.equal((await json('GET', url)).body.status, 'deactivated');
  const member = { 'X-Project-Id': 'p-other', 'X-Roles': 'member' };
  assert.equal((await getBytes(`${url}/file`, member)).status, 403, 'non-admin download of a deactivated image');
  assert.equal((await getBytes(`${url}/file`)).status, 200, 'admin may still download');
  assert.equal((await putBytes(`${url}/file`, Buffer.from('x'))).status, 409);
  assert.equal((await json('POST', `${url}/actions/reactivate`)).status, 204);
  assert.equal((await json('POST', `${url}/actions/reactivate`)).status, 204, 'reactivating an active image is a no-op');
  assert.equal((await json('POST', `${url}/actions/explode`)).status, 404);

  assert.equal((await patch(url, [{ op: 'replace', path: '/protected', value: true }])).status, 200);
  assert.equal((await json('DELETE', url)).status, 403);
  assert.equal((await patch(url, [{ op: 'replace', path: '/protected', value: false }])).status, 200);
  assert.equal((await json('DELETE', url)).status, 204);
  assert.equal((await json('GET', url)).status, 404);
  assert.equal((await json('DELETE', url)).status, 404);
});

test('schemas and healthcheck', async () => {
  for (const name of ['image', 'images', 'member', 'members', 'task', 'tasks']) {
    const r = await json('GET', `${base}/v2/schemas/${name}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.name, name);
  }
  const image = (await json('GET', `${base}/v2/schemas/image`)).body;
  assert.ok(image.properties.disk_format.enum.includes('qcow2'));
  const h = await fetch(`${base}/healthcheck`);
  assert.equal(h.status, 200);
  assert.equal(await h.text(), 'OK');
});
