/**
 * The v2.17 locations API (docs/locations.md): POST /v2/images/{id}/locations adds a location
 * to a queued image and answers 202; in the background the data is read through the http
 * store, hashed, checked against validation_data, and the image made active (or, on a wrong
 * hash, put back to queued without hashes, its http location kept, as upstream Glance's
 * location_import flow leaves it). GET lists {url, metadata} for service callers. Statuses and
 * rules as upstream Glance's controller, policies and functional tests (2024.2 and later).
 * show_multiple_locations stays off: the API does not depend on it.
 */
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json } from '../helpers/http.js';
import { ImageServer } from '../helpers/image-http-server.js';
import { until } from '../helpers/store-files.js';

const ENV = {
  IRIS__GLANCE_STORE__STORES: 'file,http',
  IRIS__GLANCE_STORE__DEFAULT_STORE: 'file',
  // The image server is on loopback at a random port, which the web-download rules refuse otherwise.
  IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
  IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
};
const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const MEMBER = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-m' };
const READER = { 'X-Project-Id': 'project-a', 'X-Roles': 'reader', 'X-User-Id': 'user-r' };
const SERVICE = { 'X-Project-Id': 'project-a', 'X-Roles': 'service,member,reader', 'X-User-Id': 'user-s' };
const DATA = Buffer.from('bytes of an image an external http server holds\n'.repeat(40));
const digest = (algo: string) => createHash(algo).update(DATA).digest('hex');

const server = new ImageServer();
let iris: IrisProcess;
let base: string;
before(async () => {
  await server.start();
  for (const key of ['nova', 'sha256', 'wrong', 'member', 'svc']) server.objects.set(key, DATA);
  // A generous bound for start-up: the CI machine may be busy.
  iris = await startIris({ env: ENV, readyTimeoutMs: 120_000 });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  await server.stop();
});

const url = (key: string) => `${server.base}/images/${key}`;

async function queuedImage(headers: Record<string, string> = ADMIN): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'v2.17', disk_format: 'raw', container_format: 'bare' }, headers);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

const addLocation = (id: string, body: unknown, headers: Record<string, string> = ADMIN) =>
  json('POST', `${base}/v2/images/${id}/locations`, body, headers);

const show = async (id: string) => (await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN)).body;

/** Polls the image until `done` holds; a generous bound, the machine may be busy. */
const imageWhen = (id: string, what: string, done: (image: any) => boolean) =>
  until(what, async () => {
    const image = await show(id);
    return done(image) ? image : undefined;
  }, 120_000);

function assertFault(r: { status: number; text: string }, status: number, message: string): void {
  assert.equal(r.status, status, r.text);
  assert.ok(r.text.includes(message), `${JSON.stringify(message)} not in ${r.text}`);
}

test('Nova-style: an admin adds an http location with validation_data to a queued image; it becomes active with the validated hash', async () => {
  const id = await queuedImage();
  const r = await addLocation(id, { url: url('nova'), validation_data: { os_hash_algo: 'sha512', os_hash_value: digest('sha512') } });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.text, '');
  const image = await imageWhen(id, 'the image active', (i) => i.status === 'active');
  assert.equal(image.checksum, digest('md5'));
  assert.equal(image.os_hash_algo, 'sha512');
  assert.equal(image.os_hash_value, digest('sha512'));
  assert.equal(image.size, DATA.length);
  assert.equal(image.locations, undefined, 'show_multiple_locations is off: images do not show them');
  // The data was read for the hash (GET), not only sized (HEAD).
  assert.ok(server.requests.some((q) => q.method === 'GET' && q.url === '/images/nova'));

  const listed = await json('GET', `${base}/v2/images/${id}/locations`, undefined, ADMIN);
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.body, [{ url: url('nova'), metadata: {} }]);
  const file = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
  assert.equal(file.status, 200);
  assert.ok(Buffer.from(file.bytes).equals(DATA));
  // Not queued any more: 409.
  assertFault(await addLocation(id, { url: url('svc') }), 409, "It's not allowed to add locations if image status is active.");
});

test('validation_data may name another algorithm of the schema (sha256): the image takes it', async () => {
  const id = await queuedImage();
  const r = await addLocation(id, { url: url('sha256'), validation_data: { os_hash_algo: 'sha256', os_hash_value: digest('sha256') } });
  assert.equal(r.status, 202, r.text);
  const image = await imageWhen(id, 'the image active', (i) => i.status === 'active');
  assert.equal(image.os_hash_algo, 'sha256');
  assert.equal(image.os_hash_value, digest('sha256'));
  assert.equal(image.checksum, digest('md5'));
});

test('a wrong hash leaves the image queued without checksum or hash, its http location kept (upstream reverts)', async () => {
  const id = await queuedImage();
  const r = await addLocation(id, { url: url('wrong'), validation_data: { os_hash_algo: 'sha512', os_hash_value: 'ab'.repeat(64) } });
  assert.equal(r.status, 202, r.text);
  // Once the data was read (GET), the only queued state left is the reverted one.
  await until('the data read', async () => (server.requests.some((q) => q.method === 'GET' && q.url === '/images/wrong') ? true : undefined), 120_000);
  const image = await imageWhen(id, 'the image back to queued', (i) => i.status === 'queued');
  assert.equal(image.checksum, null);
  assert.equal(image.os_hash_algo, null);
  assert.equal(image.os_hash_value, null);
  const listed = await json('GET', `${base}/v2/images/${id}/locations`, undefined, SERVICE);
  assert.deepEqual(listed.body, [{ url: url('wrong'), metadata: {} }]);
});

test('a project member adds an http location without validation_data: active, and the hash is computed after', async () => {
  const id = await queuedImage(MEMBER);
  const r = await addLocation(id, { url: url('member') }, MEMBER);
  assert.equal(r.status, 202, r.text);
  const image = await imageWhen(id, 'the image active with its hash', (i) => i.status === 'active' && i.os_hash_value !== null);
  assert.equal(image.os_hash_algo, 'sha512');
  assert.equal(image.os_hash_value, digest('sha512'));
  assert.equal(image.checksum, digest('md5'));
  // fetch_image_location is for services (and admins): a member is refused.
  assertFault(await json('GET', `${base}/v2/images/${id}/locations`, undefined, MEMBER), 403, 'fetch_image_location');
  assert.equal((await json('GET', `${base}/v2/images/${id}/locations`, undefined, SERVICE)).status, 200);
});

test('errors as upstream answers them: body, hash, policy, store, status, unknown image', async () => {
  const id = await queuedImage();
  assert.equal((await addLocation(id, {})).status, 400, 'url is required');
  assert.equal((await addLocation(id, { url: 5 })).status, 400);
  const vd = (v: unknown) => addLocation(id, { url: url('svc'), validation_data: v });
  assert.equal((await vd({ os_hash_algo: 'sha123', os_hash_value: digest('sha512') })).status, 400, 'not an algorithm of the schema');
  assert.equal((await vd({ os_hash_value: digest('sha512') })).status, 400, 'os_hash_value without os_hash_algo');
  assert.equal((await vd({ os_hash_algo: 'sha512', os_hash_value: digest('sha512'), checksum: digest('md5') })).status, 400, 'no other key');
  assertFault(await vd({ os_hash_algo: 'sha512', os_hash_value: digest('sha256') }), 400, 'is not the correct size for (sha512) (should be (64) bytes)');
  assertFault(await vd({ os_hash_algo: 'sha512', os_hash_value: 'not hex' }), 400, 'is not a valid hexadecimal value');
  // add_image_location: a reader of the owner project is not a member.
  assertFault(await addLocation(id, { url: url('svc') }, READER), 403, 'add_image_location');
  // Without the service role only http URLs (with an http store configured).
  assertFault(await addLocation(id, { url: 'file:///etc/passwd' }, MEMBER), 403, 'http store must be enabled to use location API by normal user.');
  assertFault(await addLocation('6b9e0c5e-6f43-4d0e-8d7b-2f2f3c8b7a10', { url: url('svc') }), 404, 'No image found with ID');
  assert.equal((await json('GET', `${base}/v2/images/6b9e0c5e-6f43-4d0e-8d7b-2f2f3c8b7a10/locations`, undefined, SERVICE)).status, 404);
  // A queued image without locations lists none.
  const none = await json('GET', `${base}/v2/images/${id}/locations`, undefined, SERVICE);
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.body, []);
  assert.equal((await show(id)).status, 'queued', 'refused requests change nothing');
});
