/**
 * glance-download against a real Keystone (one per file) whose catalog registers the image
 * service in several regions: RegionOne is the Iris under test, RegionTwo a second Iris
 * (both validating tokens with that Keystone), RegionThree a small in-process server that
 * plays a remote Glance which fails its download, RegionFour the real Glance 25.1.0 behind the
 * same Keystone (test/helpers/keystone-glance.ts). The import finds the remote endpoint in the
 * caller's token catalog, calls it with the caller's token, copies the properties Glance
 * copies, and stores the same bytes with the same hashes; failures end the task with Glance's
 * message and leave the image as it was. The real Glance also imports from RegionTwo, and its
 * results are compared with Iris's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, getBytes, json, putBytes, type HttpAnswer } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { keystoneIrisEnv, requireKeystone, startKeystone, type KeystoneProcess, type TestCloud } from '../helpers/keystone.js';
import { requireKeystoneGlance, startKeystoneGlance, type KeystoneGlanceProcess } from '../helpers/keystone-glance.js';

const haveKeystone = requireKeystone();
const skip = haveKeystone ? false : 'Keystone (python3-keystone, uwsgi) not installed';
const STEP = { skip, timeout: 120_000 };
const haveGlance = haveKeystone && requireKeystoneGlance();
const GLANCE_STEP = { skip: skip || (!haveGlance && 'glance-api not installed'), timeout: 120_000 };

/** Glance's message for any failed glance-download task. */
const FAILED = 'Task failed due to Internal Error';
const FAKE_ID = '6c3d1a4e-8f2b-4c7d-9e0a-1b2c3d4e5f60';

let keystone: KeystoneProcess;
let cloud: TestCloud;
let one: IrisProcess;
let two: IrisProcess;
let fake: Server;
let glance: KeystoneGlanceProcess | undefined;
/** X-Auth-Token values the RegionThree server received. */
const fakeTokens: string[] = [];
let alice: Record<string, string>;
let bob: Record<string, string>;

before(async () => {
  if (!haveKeystone) return;
  keystone = await startKeystone();
  cloud = await keystone.populate();
  fake = createServer((req, res) => {
    fakeTokens.push(String(req.headers['x-auth-token']));
    if (req.url === `/v2/images/${FAKE_ID}`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: FAKE_ID, status: 'active', disk_format: 'iso', container_format: 'bare', size: 10, hw_machine_type: 'q35', os_distro: 'remote' }));
    } else {
      res.writeHead(500);
      res.end('broken');
    }
  });
  fake.listen(0, '127.0.0.1');
  await new Promise((r) => fake.once('listening', r));
  const env = (extra: Record<string, string> = {}) => keystoneIrisEnv(keystone, cloud, extra);
  // The real Glance starts meanwhile (its database set-up is the slow part).
  const glanceStarting = haveGlance
    ? startKeystoneGlance(keystone, cloud, {
        importMethods: ['glance-direct', 'web-download', 'copy-image', 'glance-download'],
        // Glance reaches loopback only for a host listed here.
        allowedHosts: ['127.0.0.1'],
      })
    : undefined;
  // Stopped even when an Iris fails to start.
  glanceStarting?.then((g) => (glance = g)).catch(() => undefined);
  [one, two] = await Promise.all([
    startIris({
      env: env({
        IRIS__DEFAULT__ENABLED_IMPORT_METHODS: 'glance-direct,web-download,copy-image,glance-download',
        // Two stores: one target streams straight in, several go through staging.
        IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
        IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
        // The remote Glance is reached as web-download sources are: on loopback here.
        IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
        IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
      }),
    }),
    startIris({ env: env() }),
  ]);
  glance = await glanceStarting;
  await registerImages({
    RegionOne: one.baseUrl,
    RegionTwo: two.baseUrl,
    RegionThree: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
    ...(glance ? { RegionFour: glance.url } : {}),
  });
  // Issued once the catalog is complete: Keystone puts it in the token's data.
  alice = { 'X-Auth-Token': (await keystone.issueToken(cloud.users.alice, cloud.projects.demo)).token };
  bob = { 'X-Auth-Token': (await keystone.issueToken(cloud.users.bob, cloud.projects.alt)).token };
});

after(async () => {
  if (!haveKeystone) return;
  await Promise.all([one?.stop(), two?.stop(), glance?.stop()]);
  fake?.closeAllConnections();
  fake?.close();
  await keystone?.stop();
});

/** One `image` service with public and internal endpoints in each region. */
async function registerImages(urls: Record<string, string>): Promise<void> {
  const must = async (method: string, path: string, body: unknown) => {
    const r = await keystone.admin(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const service = (await must('POST', '/services', { service: { type: 'image', name: 'glance' } })).service.id;
  for (const [region, url] of Object.entries(urls)) {
    if (region !== 'RegionOne') await must('POST', '/regions', { region: { id: region } });
    for (const iface of ['public', 'internal']) {
      await must('POST', '/endpoints', { endpoint: { service_id: service, interface: iface, url, region_id: region } });
    }
  }
}

function logs(): string {
  return `\n--- RegionOne Iris (tail) ---\n${one.logs().slice(-3000)}\n--- RegionTwo Iris (tail) ---\n${two.logs().slice(-1500)}`;
}

async function create(base: string, who: Record<string, string>, body: Record<string, unknown>): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { disk_format: 'raw', container_format: 'bare', ...body }, who);
  assert.equal(r.status, 201, describe(r) + logs());
  return r.body.id as string;
}

const show = async (base: string, id: string, who = alice) => (await json('GET', `${base}/v2/images/${id}`, undefined, who)).body;

/** The image's import task, once it ended (polled; the task runs after the 202). */
async function endedTask(id: string, who = alice): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const r = await json('GET', `${one.baseUrl}/v2/images/${id}/tasks`, undefined, who);
    assert.equal(r.status, 200, describe(r));
    const [task] = r.body.tasks as any[];
    if (task && (task.status === 'success' || task.status === 'failure')) return task;
    await sleep(100);
  }
  throw new Error(`the import of ${id} did not end${logs()}`);
}

function importFrom(id: string, method: Record<string, unknown>, who = alice, extra: Record<string, unknown> = {}): Promise<HttpAnswer> {
  return json('POST', `${one.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-download', ...method }, ...extra }, who);
}

function expectFault(r: HttpAnswer, status: number, message: string): void {
  assert.equal(r.status, status, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
}

test('discovery offers glance-download when enabled', STEP, async () => {
  const r = await json('GET', `${one.baseUrl}/v2/info/import`, undefined, alice);
  assert.deepEqual(r.body['import-methods'].value, ['glance-direct', 'web-download', 'copy-image', 'glance-download']);
});

test('an active image of RegionTwo: properties copied, same bytes and hashes', STEP, async () => {
  const data = randomBytes(300_000);
  const remoteId = await create(two.baseUrl, alice, {
    name: 'remote',
    disk_format: 'raw',
    container_format: 'ovf',
    hw_disk_bus: 'scsi',
    'trait:CUSTOM_FAST': 'required',
    os_distro: 'debian',
    os_type: 'linux',
    os_version: '12',
    architecture: 'x86_64',
  });
  const up = await putBytes(`${two.baseUrl}/v2/images/${remoteId}/file`, data, alice);
  assert.equal(up.status, 204, describe(up) + logs());
  const remote = await show(two.baseUrl, remoteId);
  assert.equal(remote.status, 'active');

  // Formats and a property of the target are replaced by the remote image's.
  const id = await create(one.baseUrl, alice, { name: 'local', disk_format: 'qcow2', container_format: 'bare', hw_disk_bus: 'ide', kept: 'yes' });
  const r = await importFrom(id, { glance_region: 'RegionTwo', glance_image_id: remoteId });
  assert.equal(r.status, 202, describe(r) + logs());
  const task = await endedTask(id);
  assert.equal(task.status, 'success', JSON.stringify(task) + logs());
  // The task records the method with the interface's default, as Glance's does.
  assert.deepEqual(task.input.import_req.method, {
    name: 'glance-download',
    glance_region: 'RegionTwo',
    glance_image_id: remoteId,
    glance_service_interface: 'public',
  });

  const image = await show(one.baseUrl, id);
  assert.equal(image.status, 'active');
  assert.equal(image.disk_format, 'raw');
  assert.equal(image.container_format, 'ovf');
  assert.equal(image.hw_disk_bus, 'scsi');
  assert.equal(image['trait:CUSTOM_FAST'], 'required');
  assert.equal(image.os_distro, 'debian');
  assert.equal(image.os_type, 'linux');
  assert.equal(image.kept, 'yes');
  // Not under the default extra_properties prefixes.
  assert.equal(image.os_version, undefined);
  assert.equal(image.architecture, undefined);
  assert.equal(image.size, data.length);
  assert.equal(image.checksum, remote.checksum);
  assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
  assert.equal(image.os_hash_algo, remote.os_hash_algo);
  assert.equal(image.os_hash_value, remote.os_hash_value);
  const body = await getBytes(`${one.baseUrl}/v2/images/${id}/file`, alice);
  assert.equal(body.status, 200);
  assert.ok(body.bytes.equals(data), 'downloaded bytes differ');
});

test('into two stores (through staging): both copies hold the remote bytes', STEP, async () => {
  const data = randomBytes(120_000);
  const remoteId = await create(two.baseUrl, alice, { name: 'two-stores', os_distro: 'alpine' });
  assert.equal((await putBytes(`${two.baseUrl}/v2/images/${remoteId}/file`, data, alice)).status, 204);
  const id = await create(one.baseUrl, alice, { name: 'two-stores-local' });
  const r = await importFrom(id, { glance_region: 'RegionTwo', glance_image_id: remoteId }, alice, { stores: ['local', 'local2'] });
  assert.equal(r.status, 202, describe(r));
  const task = await endedTask(id);
  assert.equal(task.status, 'success', JSON.stringify(task) + logs());
  const image = await show(one.baseUrl, id);
  assert.equal(image.stores, 'local,local2');
  assert.equal(image.os_distro, 'alpine');
  assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
  assert.ok((await getBytes(`${one.baseUrl}/v2/images/${id}/file`, alice)).bytes.equals(data));
  // The copy in local2 alone (local's removed) holds the same bytes.
  const dropped = await json('DELETE', `${one.baseUrl}/v2/stores/local/${id}`, undefined, alice);
  assert.equal(dropped.status, 204, describe(dropped));
  assert.ok((await getBytes(`${one.baseUrl}/v2/images/${id}/file`, alice)).bytes.equals(data));
});

test("the caller's token is used: another project's private image cannot be imported", STEP, async () => {
  const remoteId = await create(two.baseUrl, alice, { name: 'private' });
  assert.equal((await putBytes(`${two.baseUrl}/v2/images/${remoteId}/file`, randomBytes(1000), alice)).status, 204);
  const id = await create(one.baseUrl, bob, { name: 'bob-local' });
  assert.equal((await importFrom(id, { glance_region: 'RegionTwo', glance_image_id: remoteId }, bob)).status, 202);
  const task = await endedTask(id, bob);
  assert.equal(task.status, 'failure');
  assert.equal(task.message, FAILED);
  assert.equal((await show(one.baseUrl, id, bob)).status, 'queued');
});

test('a remote image that is not active fails the task; the image is back in queued', STEP, async () => {
  const remoteId = await create(two.baseUrl, alice, { name: 'queued-remote', hw_disk_bus: 'scsi' });
  const id = await create(one.baseUrl, alice, { name: 'from-queued' });
  assert.equal((await importFrom(id, { glance_region: 'RegionTwo', glance_image_id: remoteId })).status, 202);
  const task = await endedTask(id);
  assert.equal(task.status, 'failure');
  assert.equal(task.message, FAILED);
  const image = await show(one.baseUrl, id);
  assert.equal(image.status, 'queued');
  assert.equal(image.hw_disk_bus, undefined);
  assert.equal(image.os_glance_import_task, undefined);
});

test('an unknown region, or an interface the region lacks, fails the task as Glance', STEP, async () => {
  for (const method of [
    { glance_region: 'RegionNine', glance_image_id: FAKE_ID },
    { glance_region: 'RegionTwo', glance_image_id: FAKE_ID, glance_service_interface: 'admin' },
  ]) {
    const id = await create(one.baseUrl, alice, { name: 'nowhere' });
    assert.equal((await importFrom(id, method)).status, 202);
    const task = await endedTask(id);
    assert.equal(task.status, 'failure', JSON.stringify(method));
    assert.equal(task.message, FAILED);
    assert.equal((await show(one.baseUrl, id)).status, 'queued');
  }
});

test('a download that fails after the metadata step: formats and properties put back', STEP, async () => {
  const id = await create(one.baseUrl, alice, { name: 'revert', os_distro: 'mine' });
  assert.equal((await importFrom(id, { glance_region: 'regionthree', glance_image_id: FAKE_ID })).status, 202);
  const task = await endedTask(id);
  assert.equal(task.status, 'failure');
  assert.equal(task.message, FAILED);
  const image = await show(one.baseUrl, id);
  assert.equal(image.status, 'queued');
  assert.equal(image.disk_format, 'raw');
  assert.equal(image.os_distro, 'mine');
  assert.equal(image.hw_machine_type, undefined);
  // Both calls carried alice's own token.
  assert.deepEqual([...new Set(fakeTokens)], [alice['X-Auth-Token']]);
  assert.equal(fakeTokens.length, 2);
});

test("the request's own checks: Glance's statuses and messages", STEP, async () => {
  const id = await create(one.baseUrl, alice, { name: 'checks' });
  expectFault(await importFrom(id, {}), 400, "'glance_region' needs to be set for glance-download import method");
  expectFault(await importFrom(id, { glance_region: 'RegionTwo' }), 400, "'glance_image_id' needs to be set for glance-download import method");
  expectFault(await importFrom(id, { glance_region: 'RegionTwo', glance_image_id: 'nope' }), 400, 'Remote image id does not look like a UUID: nope');
  const active = await create(one.baseUrl, alice, { name: 'active' });
  assert.equal((await putBytes(`${one.baseUrl}/v2/images/${active}/file`, randomBytes(10), alice)).status, 204);
  expectFault(await importFrom(active, { glance_region: 'RegionTwo', glance_image_id: FAKE_ID }), 409, 'Image with status active cannot be target for import');
  // Only queued images: an image being staged is not one.
  const staged = await create(one.baseUrl, alice, { name: 'staged' });
  assert.equal((await putBytes(`${one.baseUrl}/v2/images/${staged}/stage`, randomBytes(10), alice)).status, 204);
  expectFault(
    await importFrom(staged, { glance_region: 'RegionTwo', glance_image_id: FAKE_ID }),
    409,
    "Image needs to be in 'queued' state to use 'glance-download' method",
  );
});

/** The image's import task on the real Glance, once it ended. */
async function glanceTask(id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const task = (await json('GET', `${glance!.url}/v2/images/${id}/tasks`, undefined, alice)).body.tasks?.[0];
    if (task && (task.status === 'success' || task.status === 'failure')) return task;
    await sleep(100);
  }
  throw new Error(`the real Glance's import of ${id} did not end:\n${glance!.logs().slice(-3000)}`);
}

test('the real Glance as the remote region (RegionFour)', GLANCE_STEP, async () => {
  const g = glance!.url;
  const data = randomBytes(200_000);
  const made = await json('POST', `${g}/v2/images`, { name: 'in-glance', disk_format: 'raw', container_format: 'bare', hw_rng_model: 'virtio', os_type: 'linux', note: 'x' }, alice);
  assert.equal(made.status, 201, describe(made));
  const remoteId = made.body.id as string;
  assert.equal((await putBytes(`${g}/v2/images/${remoteId}/file`, data, alice)).status, 204);
  const remote = await show(g, remoteId);
  assert.equal(remote.status, 'active');

  const id = await create(one.baseUrl, alice, { name: 'from-glance' });
  assert.equal((await importFrom(id, { glance_region: 'RegionFour', glance_image_id: remoteId })).status, 202);
  const task = await endedTask(id);
  assert.equal(task.status, 'success', JSON.stringify(task) + logs());
  const image = await show(one.baseUrl, id);
  assert.equal(image.status, 'active');
  assert.equal(image.hw_rng_model, 'virtio');
  assert.equal(image.os_type, 'linux');
  assert.equal(image.note, undefined);
  assert.equal(image.checksum, remote.checksum);
  assert.equal(image.os_hash_value, remote.os_hash_value);
  assert.ok((await getBytes(`${one.baseUrl}/v2/images/${id}/file`, alice)).bytes.equals(data));
});

test('the real Glance imports from RegionTwo (Iris) as Iris does: same image, same failure', GLANCE_STEP, async () => {
  const g = glance!.url;
  const remoteId = await create(two.baseUrl, alice, { name: 'both', container_format: 'ovf', hw_disk_bus: 'scsi', os_distro: 'debian', os_version: '12', 'trait:CUSTOM_Y': 'required' });
  assert.equal((await putBytes(`${two.baseUrl}/v2/images/${remoteId}/file`, randomBytes(50_000), alice)).status, 204);
  const method = { glance_region: 'RegionTwo', glance_image_id: remoteId };
  const start = async (base: string, body: Record<string, unknown>) => {
    const made = await json('POST', `${base}/v2/images`, { name: 'target', disk_format: 'qcow2', container_format: 'bare', hw_disk_bus: 'ide' }, alice);
    assert.equal(made.status, 201, describe(made));
    const r = await json('POST', `${base}/v2/images/${made.body.id}/import`, { method: { name: 'glance-download', ...body } }, alice);
    assert.equal(r.status, 202, describe(r));
    return made.body.id as string;
  };
  const seen = (image: any) => ({
    status: image.status,
    disk_format: image.disk_format,
    container_format: image.container_format,
    hw_disk_bus: image.hw_disk_bus,
    os_distro: image.os_distro,
    os_version: image.os_version,
    trait: image['trait:CUSTOM_Y'],
    size: image.size,
    checksum: image.checksum,
    os_hash_value: image.os_hash_value,
  });
  const [inGlance, inIris] = [await start(g, method), await start(one.baseUrl, method)];
  const [glanceTaskOk, irisTaskOk] = [await glanceTask(inGlance), await endedTask(inIris)];
  assert.equal(glanceTaskOk.status, 'success', JSON.stringify(glanceTaskOk));
  assert.equal(irisTaskOk.status, 'success');
  assert.deepEqual(irisTaskOk.input.import_req, glanceTaskOk.input.import_req);
  assert.deepEqual(seen(await show(one.baseUrl, inIris)), seen(await show(g, inGlance)));

  const unknown = { glance_region: 'RegionNine', glance_image_id: remoteId };
  const [failedGlance, failedIris] = [await start(g, unknown), await start(one.baseUrl, unknown)];
  const [glanceFailure, irisFailure] = [await glanceTask(failedGlance), await endedTask(failedIris)];
  assert.deepEqual([irisFailure.status, irisFailure.message], [glanceFailure.status, glanceFailure.message]);
  assert.deepEqual(seen(await show(one.baseUrl, failedIris)), seen(await show(g, failedGlance)));
});
