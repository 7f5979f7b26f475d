/**
 * Image locations with show_multiple_locations on (docs/locations.md): JSON-patch add, remove
 * and replace on /locations, over a real Iris with `stores = file,http` and a local http server
 * of image bytes. Every status and message asserted here is the one Glance 25.1.0 answered to
 * the same request (peer-glance with show_multiple_locations = True, stores = file,http,
 * image_location_quota = 3; the cases and answers are listed in docs/locations.md).
 */
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, patch } from '../helpers/http.js';
import { ImageServer } from '../helpers/image-http-server.js';
import { until } from '../helpers/store-files.js';

const ENV = {
  IRIS__GLANCE_STORE__STORES: 'file,http',
  IRIS__GLANCE_STORE__DEFAULT_STORE: 'file',
  IRIS__DEFAULT__SHOW_MULTIPLE_LOCATIONS: 'true',
  IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
  IRIS__DEFAULT__IMAGE_LOCATION_QUOTA: '3',
  // Far above what project-a's images use; the quota test fills project-q.
  IRIS__DEFAULT__USER_STORAGE_QUOTA: '1000000',
  // The image server is on loopback at a random port, which the web-download rules refuse otherwise.
  IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
  IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
};
const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const DATA = Buffer.from('image bytes served over http\n'.repeat(64));
const MD5 = createHash('md5').update(DATA).digest('hex');
const SHA512 = createHash('sha512').update(DATA).digest('hex');

const server = new ImageServer();
let iris: IrisProcess;
let base: string;
before(async () => {
  await server.start();
  for (const key of ['a', 'b', 'c', 'd', 'e']) server.objects.set(key, DATA);
  for (const key of ['big1', 'big2']) server.objects.set(key, Buffer.alloc(600_000, key));
  // A generous bound for start-up: the CI machine may be busy.
  iris = await startIris({ env: ENV, readyTimeoutMs: 120_000 });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  await server.stop();
});

const url = (key: string) => `${server.base}/images/${key}`;
const loc = (key: string, metadata: Record<string, unknown> = {}) => ({ url: url(key), metadata });

async function queuedImage(): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'loc', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

async function patchImage(id: string, ops: unknown[]) {
  return patch(`${base}/v2/images/${id}`, ops, ADMIN);
}

/** Glance's fault: status and the message text (webob's explanation or detail). */
function assertFault(r: { status: number; body: any; text: string }, status: number, message: string): void {
  assert.equal(r.status, status, r.text);
  assert.ok(String(r.body.message).includes(message), `${JSON.stringify(message)} not in ${r.text}`);
}

test('a queued image given an http location becomes active with its size; add, position, duplicate, quota, remove', async () => {
  const id = await queuedImage();
  const first = await patchImage(id, [{ op: 'add', path: '/locations/-', value: loc('a') }]);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.status, 'active');
  assert.equal(first.body.size, DATA.length);
  assert.equal(first.body.checksum, null);
  assert.deepEqual(first.body.locations, [loc('a')]);
  assert.equal(first.body.direct_url, url('a'));

  assertFault(await patchImage(id, [{ op: 'add', path: '/locations/-', value: loc('a') }]), 400, `The location ${url('a')} already exists`);
  assertFault(await patchImage(id, [{ op: 'add', path: '/locations/x', value: loc('b') }]), 400, 'Invalid position for adding a location.');

  // At position 0 in the answer; Glance's next read shows it in row order, last.
  const atZero = await patchImage(id, [{ op: 'add', path: '/locations/0', value: loc('b', { k: 'v' }) }]);
  assert.equal(atZero.status, 200, atZero.text);
  assert.deepEqual(atZero.body.locations, [loc('b', { k: 'v' }), loc('a')]);
  const shown = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.deepEqual(shown.body.locations, [loc('a'), loc('b', { k: 'v' })]);

  // Past the end is an append (Python's list.insert).
  const atNine = await patchImage(id, [{ op: 'add', path: '/locations/9', value: loc('c') }]);
  assert.deepEqual(atNine.body.locations?.map((l: { url: string }) => l.url), [url('a'), url('b'), url('c')]);
  assertFault(
    await patchImage(id, [{ op: 'add', path: '/locations/-', value: loc('d') }]),
    413,
    'The limit has been exceeded on the number of allowed image locations. Attempted: 4, Maximum: 3',
  );

  assertFault(await patchImage(id, [{ op: 'remove', path: '/locations/5' }]), 400, 'Invalid position for removing a location.');
  const removed = await patchImage(id, [{ op: 'remove', path: '/locations/-' }]);
  assert.deepEqual(removed.body.locations, [loc('a'), loc('b', { k: 'v' })]);
  await patchImage(id, [{ op: 'remove', path: '/locations/0' }]);
  const last = await patchImage(id, [{ op: 'remove', path: '/locations/0' }]);
  assertFault(last, 403, 'Cannot remove last location in the image.');
  assert.match(last.body.message, /^Access was denied to this resource\./);

  // The image's bytes come from the http server.
  const data = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
  assert.equal(data.status, 200);
  assert.ok(Buffer.from(data.bytes).equals(DATA));
});

test('replace: an empty list is refused, other URLs only while there are none, the same URLs change metadata', async () => {
  const id = await queuedImage();
  assertFault(await patchImage(id, [{ op: 'replace', path: '/locations', value: [] }]), 403, 'Cannot set locations to empty list.');
  const two = await patchImage(id, [{ op: 'replace', path: '/locations', value: [loc('a'), loc('b')] }]);
  assert.equal(two.status, 200, two.text);
  assert.equal(two.body.status, 'active');
  assert.equal(two.body.size, DATA.length);
  assertFault(
    await patchImage(id, [{ op: 'replace', path: '/locations', value: [loc('c')] }]),
    400,
    `Original locations is not empty: [{'url': '${url('a')}', 'metadata': {}, 'status': 'active'}, {'url': '${url('b')}'`,
  );
  const meta = await patchImage(id, [{ op: 'replace', path: '/locations', value: [loc('b', { m: '1' }), loc('a')] }]);
  assert.equal(meta.status, 200, meta.text);
  assert.deepEqual(meta.body.locations, [loc('b', { m: '1' }), loc('a')]);

  const other = await queuedImage();
  assertFault(await patchImage(other, [{ op: 'replace', path: '/locations', value: [loc('a'), loc('a')] }]), 400, `The location ${url('a')} already exists`);
  assertFault(
    await patchImage(other, [{ op: 'replace', path: '/locations', value: ['a', 'b', 'c', 'd'].map((k) => loc(k)) }]),
    413,
    'Attempted: 4, Maximum: 3',
  );
});

test('locations no configured store may serve are "Invalid location"', async () => {
  const id = await queuedImage();
  for (const bad of [`${server.base}/images/missing`, 'file:///etc/passwd', 'swift://account/container/object', 'http://169.254.169.254/latest']) {
    assertFault(await patchImage(id, [{ op: 'add', path: '/locations/-', value: { url: bad, metadata: {} } }]), 400, 'Invalid location');
  }
  const shown = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(shown.body.status, 'queued');
  assert.deepEqual(shown.body.locations, []);
});

test('Nova-style: an admin gives a queued image an http location with validation_data; it becomes active with the hash', async () => {
  const id = await queuedImage();
  const validation = { checksum: MD5, os_hash_algo: 'sha512', os_hash_value: SHA512 };
  // Malformed validation data: 409, and the image stays queued without locations.
  const wrong: [Record<string, string>, string][] = [
    [{ os_hash_algo: 'sha256', os_hash_value: '00' }, 'os_hash_algo must be sha512, not sha256'],
    [{ os_hash_algo: 'sha512', os_hash_value: 'zz' }, 'os_hash_value (zz) is not a valid hexadecimal value'],
    [{ os_hash_algo: 'sha512', os_hash_value: '00' }, 'os_hash_value (00) is not the correct size for sha512 (should be 64 bytes)'],
  ];
  for (const [data, message] of wrong) {
    assertFault(await patchImage(id, [{ op: 'add', path: '/locations/-', value: { ...loc('a'), validation_data: data } }]), 409, message);
  }
  assertFault(await patchImage(id, [{ op: 'remove', path: '/locations/0' }]), 409, "It's not allowed to remove locations if image status is queued.");
  const still = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(still.body.status, 'queued');

  const added = await patchImage(id, [{ op: 'add', path: '/locations/-', value: { ...loc('a'), validation_data: validation } }]);
  assert.equal(added.status, 200, added.text);
  assert.equal(added.body.status, 'active');
  assert.equal(added.body.checksum, MD5);
  assert.equal(added.body.os_hash_algo, 'sha512');
  assert.equal(added.body.os_hash_value, SHA512);
  assert.equal(added.body.size, DATA.length);
  // Values on an active image must equal the image's own.
  assertFault(
    await patchImage(id, [{ op: 'add', path: '/locations/-', value: { ...loc('b'), validation_data: { ...validation, os_hash_value: '0'.repeat(128) } } }]),
    409,
    'os_hash_value is already set with a different value',
  );
  const data = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
  assert.equal(data.headers.get('content-md5'), MD5);
});

test('a deactivated image takes no location changes', async () => {
  const id = await queuedImage();
  assert.equal((await patchImage(id, [{ op: 'replace', path: '/locations', value: [loc('a'), loc('b')] }])).status, 200);
  const deactivated = await json('POST', `${base}/v2/images/${id}/actions/deactivate`, undefined, ADMIN);
  assert.equal(deactivated.status, 204, deactivated.text);
  assertFault(await patchImage(id, [{ op: 'add', path: '/locations/-', value: loc('c') }]), 409, "It's not allowed to add locations if image status is deactivated.");
  assertFault(await patchImage(id, [{ op: 'remove', path: '/locations/0' }]), 409, "It's not allowed to remove locations if image status is deactivated.");
  assertFault(
    await patchImage(id, [{ op: 'replace', path: '/locations', value: [loc('a')] }]),
    409,
    "It's not allowed to replace locations if image status is deactivated.",
  );
});

test('user_storage_quota counts an added location\'s size, by JSON-patch and by the v2.17 POST (Glance\'s quota layer)', async () => {
  const q = { 'X-Project-Id': 'project-q', 'X-Roles': 'member,reader,service', 'X-User-Id': 'user-q' };
  const create = async () => (await json('POST', `${base}/v2/images`, { name: 'q', disk_format: 'raw', container_format: 'bare' }, q)).body.id as string;
  const a = await create();
  assert.equal((await json('POST', `${base}/v2/images/${a}/locations`, { url: url('big1') }, q)).status, 202);
  const active = await until('the first image active', async () => {
    const r = await json('GET', `${base}/v2/images/${a}`, undefined, q);
    return r.body.status === 'active' ? r.body : undefined;
  }, 120_000);
  assert.equal(active.size, 600_000);
  // 600000 used of 1000000: one more location of the same image needs its size again.
  assertFault(
    await patch(`${base}/v2/images/${a}`, [{ op: 'add', path: '/locations/-', value: loc('big2') }], q),
    413,
    'Denying attempt to upload image because it exceeds the quota: The size of the data 600000 will exceed the limit. 400000 bytes remaining.',
  );
  // The v2.17 POST checks the same when its flow appends: the image stays queued without it.
  const b = await create();
  assert.equal((await json('POST', `${base}/v2/images/${b}/locations`, { url: url('big2') }, q)).status, 202);
  // A second POST is 409 while the first flow runs; once one is accepted, the first has ended.
  await until('the first flow ended', async () => ((await json('POST', `${base}/v2/images/${b}/locations`, { url: url('big2') }, q)).status === 202 ? true : undefined), 120_000);
  const after = await json('GET', `${base}/v2/images/${b}/locations`, undefined, q);
  assert.deepEqual(after.body, []);
  assert.equal((await json('GET', `${base}/v2/images/${b}`, undefined, q)).body.status, 'queued');
});
