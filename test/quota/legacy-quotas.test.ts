/**
 * Glance's legacy quotas over real HTTP, each at exactly its boundary (limit − 1, limit,
 * limit + 1): image_property_quota, image_tag_quota, image_member_quota and user_storage_quota,
 * with the statuses and fault texts the real Glance 25.1.0 answered with the same options
 * (the peer with PEER_GLANCE_EXTRA_CONF setting them, the same requests, compared answer by
 * answer; see docs/quotas.md), and GET /v2/info/usage's answers without Keystone limits.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describe, json, patch, putBytes, putChunked, type HttpAnswer } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

const identity = (project: string) => ({ 'X-Project-Id': project, 'X-Roles': 'member,reader', 'X-User-Id': `user-${project}` });
const QUOTA = 1000;

let iris: IrisProcess;
let base: string;

before(async () => {
  iris = await startIris({
    env: {
      IRIS__DEFAULT__IMAGE_PROPERTY_QUOTA: '2',
      IRIS__DEFAULT__IMAGE_TAG_QUOTA: '2',
      IRIS__DEFAULT__IMAGE_MEMBER_QUOTA: '2',
      IRIS__DEFAULT__USER_STORAGE_QUOTA: String(QUOTA),
    },
  });
  base = iris.baseUrl;
});
after(() => iris.stop());

/** A 413 whose JSON fault carries `message` as webob's explanation. */
function expect413(r: HttpAnswer, message: string): void {
  assert.equal(r.status, 413, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
  assert.equal(r.body.title, 'Request Entity Too Large');
}

async function create(project: string, extra: Record<string, unknown> = {}): Promise<HttpAnswer> {
  return json('POST', `${base}/v2/images`, { name: 'q', disk_format: 'raw', container_format: 'bare', ...extra }, identity(project));
}

async function createId(project: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await create(project, extra);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, 'v']));

test('image_property_quota at create: 1 and 2 properties pass, 3 is 413', async () => {
  assert.equal((await create('props', props(1))).status, 201);
  assert.equal((await create('props', props(2))).status, 201);
  expect413(await create('props', props(3)), 'The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 2');
});

test('image_property_quota on PATCH: adding the second passes, the third is 413, replacing one is not an addition', async () => {
  const id = await createId('props-patch', props(1));
  const url = `${base}/v2/images/${id}`;
  const h = identity('props-patch');
  assert.equal((await patch(url, [{ op: 'add', path: '/p1', value: 'v' }], h)).status, 200);
  expect413(
    await patch(url, [{ op: 'add', path: '/p2', value: 'v' }], h),
    'The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 2',
  );
  assert.equal((await patch(url, [{ op: 'replace', path: '/p1', value: 'w' }], h)).status, 200);
  // Swapping one property for another keeps the count at the limit.
  assert.equal((await patch(url, [{ op: 'remove', path: '/p1' }, { op: 'add', path: '/p9', value: 'v' }], h)).status, 200);
});

test('image_tag_quota at create and on PATCH: 2 tags pass, 3 is 413', async () => {
  assert.equal((await create('tags', { tags: ['a'] })).status, 201);
  const id = await createId('tags', { tags: ['a', 'b'] });
  expect413(await create('tags', { tags: ['a', 'b', 'c'] }), 'The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2');
  expect413(
    await patch(`${base}/v2/images/${id}`, [{ op: 'replace', path: '/tags', value: ['a', 'b', 'c'] }], identity('tags')),
    'The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2',
  );
});

test('image_tag_quota on PUT /tags/{tag}: the second tag passes, the third is 413 with the per-image text', async () => {
  const id = await createId('tag-put', { tags: ['a'] });
  const h = identity('tag-put');
  assert.equal((await json('PUT', `${base}/v2/images/${id}/tags/b`, undefined, h)).status, 204);
  // Re-adding a tag it has adds nothing.
  assert.equal((await json('PUT', `${base}/v2/images/${id}/tags/b`, undefined, h)).status, 204);
  expect413(
    await json('PUT', `${base}/v2/images/${id}/tags/c`, undefined, h),
    `Image tag limit exceeded for image ${id}: The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2:`,
  );
});

test('image_member_quota: the second member passes, the third is 413', async () => {
  const id = await createId('members', { visibility: 'shared' });
  const h = identity('members');
  assert.equal((await json('POST', `${base}/v2/images/${id}/members`, { member: 'm1' }, h)).status, 200);
  assert.equal((await json('POST', `${base}/v2/images/${id}/members`, { member: 'm2' }, h)).status, 200);
  expect413(
    await json('POST', `${base}/v2/images/${id}/members`, { member: 'm3' }, h),
    `Image member limit exceeded for image ${id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: 3, Maximum: 2:`,
  );
});

test('user_storage_quota with Content-Length: limit − 1, then the last byte, then one byte over', async () => {
  const h = identity('bytes');
  const [a, b, c] = [await createId('bytes'), await createId('bytes'), await createId('bytes')];
  assert.equal((await putBytes(`${base}/v2/images/${a}/file`, Buffer.alloc(QUOTA - 1, 1), h)).status, 204);
  assert.equal((await putBytes(`${base}/v2/images/${b}/file`, Buffer.alloc(1, 2), h)).status, 204);
  expect413(
    await putBytes(`${base}/v2/images/${c}/file`, Buffer.alloc(1, 3), h),
    'Image exceeds the storage quota: The size of the data 1 will exceed the limit. 0 bytes remaining.',
  );
  const shown = await json('GET', `${base}/v2/images/${c}`, undefined, h);
  assert.equal(shown.body.status, 'queued');
  // Another project has its own quota.
  const other = await createId('bytes-other');
  assert.equal((await putBytes(`${base}/v2/images/${other}/file`, Buffer.alloc(QUOTA, 4), identity('bytes-other'))).status, 204);
});

test('user_storage_quota, declared size over what remains: 413 naming both numbers', async () => {
  const h = identity('bytes-declared');
  const a = await createId('bytes-declared');
  const b = await createId('bytes-declared');
  assert.equal((await putBytes(`${base}/v2/images/${a}/file`, Buffer.alloc(600, 1), h)).status, 204);
  expect413(
    await putBytes(`${base}/v2/images/${b}/file`, Buffer.alloc(401, 1), h),
    'Image exceeds the storage quota: The size of the data 401 will exceed the limit. 400 bytes remaining.',
  );
  assert.equal((await putBytes(`${base}/v2/images/${b}/file`, Buffer.alloc(400, 1), h)).status, 204);
});

test('user_storage_quota without Content-Length: exactly what remains passes, one byte more is refused naming the whole size, none left is refused at once', async () => {
  const h = identity('bytes-chunked');
  const [a, b, c] = [await createId('bytes-chunked'), await createId('bytes-chunked'), await createId('bytes-chunked')];
  assert.equal((await putChunked(`${base}/v2/images/${a}/file`, 600, h)).status, 204);
  // Glance reads the whole body and refuses after, naming its size. (It then leaves the image
  // in saving, which no later upload can leave; Iris returns it to queued.)
  expect413(
    await putChunked(`${base}/v2/images/${b}/file`, 401, h),
    'Image exceeds the storage quota: The size of the data 401 will exceed the limit. 400 bytes remaining.',
  );
  assert.equal((await json('GET', `${base}/v2/images/${b}`, undefined, h)).body.status, 'queued');
  assert.equal((await putChunked(`${base}/v2/images/${b}/file`, 400, h)).status, 204);
  expect413(
    await putChunked(`${base}/v2/images/${c}/file`, 1, h),
    'Image exceeds the storage quota: The size of the data None will exceed the limit. 0 bytes remaining.',
  );
});

test('GET /v2/info/usage without Keystone limits: an empty usage; other methods 404, as Glance', async () => {
  const r = await json('GET', `${base}/v2/info/usage`, undefined, identity('usage'));
  assert.equal(r.status, 200, describe(r));
  assert.deepEqual(r.body, { usage: {} });
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const other = await json(method, `${base}/v2/info/usage`, undefined, identity('usage'));
    assert.equal(other.status, 404, `${method}: ${describe(other)}`);
  }
  const head = await fetch(`${base}/v2/info/usage`, { method: 'HEAD', headers: identity('usage') });
  assert.equal(head.status, 404);
});
