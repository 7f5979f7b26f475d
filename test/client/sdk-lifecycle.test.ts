/**
 * The SDK against a live Iris (a real server on a free port): the image lifecycle, the paging
 * iterator, typed errors with Glance's message and request id, members, schemas and versions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createIrisClient, IrisApiError, type IrisClient } from '../../src/client/index.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

let iris: IrisProcess;
let client: IrisClient;
let work: string;

before(async () => {
  iris = await startIris();
  // The trailing /v2 is accepted as glanceclient accepts it.
  client = createIrisClient({ endpoint: `${iris.baseUrl}/v2`, retries: 0 });
  work = mkdtempSync(join(tmpdir(), 'iris-sdk-'));
});

after(async () => {
  await client?.close();
  await iris?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('create, upload a stream, update, tag, deactivate/reactivate, download, delete', async () => {
  const data = randomBytes(256 * 1024 + 7);
  const image = await client.images.create({ name: 'sdk-life', disk_format: 'raw', container_format: 'bare', os_distro: 'cirros' });
  assert.equal(image.status, 'queued');
  assert.equal(image.os_distro, 'cirros');

  let progressed = 0;
  // A stream without a size goes chunked.
  await client.images.upload(image.id, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {
    onProgress: (n) => (progressed = n),
  });
  assert.equal(progressed, data.length);
  const active = await client.images.get(image.id);
  assert.equal(active.status, 'active');
  assert.equal(active.size, data.length);
  assert.equal(active.checksum, createHash('md5').update(data).digest('hex'));

  const updated = await client.images.update(image.id, { name: 'sdk-life-2', min_ram: 256, hw_disk_bus: 'virtio' }, { remove: ['os_distro'] });
  assert.equal(updated.name, 'sdk-life-2');
  assert.equal(updated.min_ram, 256);
  assert.equal(updated.hw_disk_bus, 'virtio');
  assert.equal(updated.os_distro, undefined);
  // Nothing to change: no PATCH, the same record back.
  assert.equal((await client.images.update(image.id, { name: 'sdk-life-2' }, { current: updated })).updated_at, updated.updated_at);

  await client.images.addTag(image.id, 'gold');
  await client.images.addTag(image.id, 'gold'); // idempotent
  assert.deepEqual((await client.images.get(image.id)).tags, ['gold']);
  await client.images.removeTag(image.id, 'gold');
  assert.deepEqual((await client.images.get(image.id)).tags, []);

  await client.images.deactivate(image.id);
  assert.equal((await client.images.get(image.id)).status, 'deactivated');
  await client.images.reactivate(image.id);
  assert.equal((await client.images.get(image.id)).status, 'active');

  const download = await client.images.download(image.id);
  assert.deepEqual([...download.verifies], ['size', 'md5', 'sha512']);
  const chunks: Buffer[] = [];
  for await (const chunk of download.stream) chunks.push(chunk);
  assert.ok(Buffer.concat(chunks).equals(data));

  const out = join(work, 'out.img');
  const result = await client.images.downloadToFile(image.id, out);
  assert.equal(result.bytes, data.length);
  assert.ok(readFileSync(out).equals(data));
  assert.equal(existsSync(`${out}.part`), false);

  await client.images.delete(image.id);
  await assert.rejects(client.images.get(image.id), (err: unknown) => err instanceof IrisApiError && err.status === 404);
});

test('downloading an image without data is a NoImageData error', async () => {
  const image = await client.images.create({ name: 'sdk-empty' });
  await assert.rejects(client.images.download(image.id), { code: 'NoImageData' });
  await client.images.delete(image.id);
});

test('the paging iterator follows next links, keeps the filters and honours limit', async () => {
  const tag = `page-${randomBytes(3).toString('hex')}`;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await client.images.create({ name: `p${i}`, tags: [tag] })).id);

  const seen: string[] = [];
  for await (const image of client.images.listAll({ tags: [tag], pageSize: 2, sort: 'name:asc' })) seen.push(image.name ?? '');
  assert.deepEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4']);

  const firstThree: string[] = [];
  for await (const image of client.images.listAll({ tags: [tag], pageSize: 2, limit: 3, sortKey: ['name'], sortDir: ['desc'] })) {
    firstThree.push(image.name ?? '');
  }
  assert.deepEqual(firstThree, ['p4', 'p3', 'p2']);

  const page = await client.images.list({ tags: [tag], limit: 2 });
  assert.equal(page.images.length, 2);
  assert.match(page.next ?? '', /marker=/);

  for (const id of ids) await client.images.delete(id);
});

async function apiError(promise: Promise<unknown>): Promise<IrisApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof IrisApiError, `expected IrisApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

test('typed errors carry the status, Glance message and request id', async () => {
  const notFound = await apiError(client.images.get('00000000-0000-0000-0000-000000000000'));
  assert.equal(notFound.status, 404);
  assert.equal(notFound.message, 'No image found with ID 00000000-0000-0000-0000-000000000000');
  assert.match(notFound.requestId ?? '', /^req-[0-9a-f-]{36}$/);
  assert.equal(String(notFound), 'HTTP 404 Not Found: No image found with ID 00000000-0000-0000-0000-000000000000');

  const image = await client.images.create({ name: 'sdk-errors', disk_format: 'raw', container_format: 'bare' });
  await client.images.upload(image.id, Buffer.from('data'));
  const conflict = await apiError(client.images.upload(image.id, Buffer.from('again')));
  assert.equal(conflict.status, 409);
  assert.match(conflict.message, /status transition from active to saving is not allowed/i);
  assert.doesNotMatch(conflict.message, /<br/);
  assert.match(conflict.requestId ?? '', /^req-/);

  const invalid = await apiError(client.images.create({ name: 42 as unknown as string }));
  assert.equal(invalid.status, 400);
  assert.match(invalid.message, /does not match schema/);
  assert.match(invalid.requestId ?? '', /^req-/);

  await client.images.delete(image.id);
});

test('members: share, list, get, answer as the member project, stop sharing', async () => {
  const owner = createIrisClient({ endpoint: iris.baseUrl, token: 'peer:sdk-owner:member', retries: 0 });
  const member = createIrisClient({ endpoint: iris.baseUrl, token: 'peer:sdk-member:member', retries: 0 });
  try {
    const image = await owner.images.create({ name: 'sdk-shared', visibility: 'shared' });
    const added = await owner.members.add(image.id, 'sdk-member');
    assert.equal(added.status, 'pending');
    assert.deepEqual((await owner.members.list(image.id)).map((m) => m.member_id), ['sdk-member']);
    assert.equal((await owner.members.get(image.id, 'sdk-member')).image_id, image.id);

    const accepted = await member.members.update(image.id, 'sdk-member', 'accepted');
    assert.equal(accepted.status, 'accepted');
    const visible: string[] = [];
    for await (const i of member.images.listAll()) visible.push(i.id);
    assert.ok(visible.includes(image.id), 'an accepted image is in the member project list');

    await owner.members.delete(image.id, 'sdk-member');
    assert.deepEqual(await owner.members.list(image.id), []);
    await owner.images.delete(image.id);
  } finally {
    await owner.close();
    await member.close();
  }
});

test('schemas and versions', async () => {
  const schema = await client.schemas.get('image');
  assert.equal(schema.name, 'image');
  const versions = await client.versions();
  assert.ok(versions.some((v) => v.status === 'CURRENT'));
  assert.equal(await client.endpoint(), iris.baseUrl);
});
