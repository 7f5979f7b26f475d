/**
 * The rbd store through the API, on the project's one-node Ceph: single store
 * (`stores = file,rbd`, `default_store = rbd`) and multi-store (`enabled_backends =
 * local:file,ceph:rbd`). Upload, download whole and by Range, the rbd location as
 * show_image_direct_url shows it, the 409 Glance answers while a clone depends on the image,
 * stores/detail, copy-image rbd → file and file → rbd, per-store delete, delete.
 */
import { after, before, describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { requireCeph, startCeph, type CephServer } from '../helpers/ceph-server.js';
import { startSlowUpload } from '../helpers/slow-upload.js';

const MiB = 1024 * 1024;
const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const haveCeph = requireCeph();

let ceph: CephServer;
if (haveCeph) {
  before(async () => {
    ceph = await startCeph();
  });
  after(async () => {
    await ceph?.stop();
  });
}

function rbdEnv(prefix: string): Record<string, string> {
  return {
    [`${prefix}RBD_STORE_CEPH_CONF`]: ceph.conf,
    [`${prefix}RBD_STORE_USER`]: ceph.user,
    [`${prefix}RBD_STORE_POOL`]: ceph.pool,
    // 1 MiB objects: the test images span several.
    [`${prefix}RBD_STORE_CHUNK_SIZE`]: '1',
    [`${prefix}RADOS_CONNECT_TIMEOUT`]: '20',
  };
}

async function images(): Promise<string[]> {
  return (await ceph.rbd('ls', ceph.pool)).split('\n').filter((n) => n !== '');
}

async function createAndUpload(base: string, data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'rbd', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  const id = created.body.id as string;
  const put = await putBytes(`${base}/v2/images/${id}/file`, data, ADMIN);
  assert.equal(put.status, 204, describe(put));
  return id;
}

async function show(base: string, id: string): Promise<any> {
  const r = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(r.status, 200, describe(r));
  return r.body;
}

if (!haveCeph) {
  test('rbd store API (Ceph not installed)', (t) => t.skip('Ceph binaries not installed: see the SKIP line above'));
} else {
  suite('single store: stores = file,rbd, default_store = rbd', () => {
    let iris: IrisProcess;
    let base: string;
    before(async () => {
      iris = await startIris({
        env: {
          IRIS__GLANCE_STORE__STORES: 'file,rbd',
          IRIS__GLANCE_STORE__DEFAULT_STORE: 'rbd',
          IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
          ...rbdEnv('IRIS__GLANCE_STORE__'),
        },
      });
      base = iris.baseUrl;
    });
    after(async () => {
      await iris?.stop();
    });

    test('upload, direct_url, download whole and by Range, delete', async () => {
      const data = randomBytes(3 * MiB + 17);
      const id = await createAndUpload(base, data);
      const image = await show(base, id);
      assert.equal(image.status, 'active');
      assert.equal(image.size, data.length);
      assert.equal(image.checksum, md5(data));
      assert.equal(image.direct_url, `rbd://${ceph.fsid}/${ceph.pool}/${id}/snap`);
      assert.ok((await images()).includes(id));

      const whole = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
      assert.equal(whole.status, 200);
      assert.equal(md5(whole.bytes), md5(data));
      for (const [header, start, end] of [
        ['bytes=100-2000000', 100, 2000000],
        [`bytes=${MiB}-`, MiB, data.length - 1],
        ['bytes=-100', data.length - 100, data.length - 1],
      ] as const) {
        const part = await getBytes(`${base}/v2/images/${id}/file`, { ...ADMIN, Range: header });
        assert.equal(part.status, 206, header);
        assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
        assert.ok(part.bytes.equals(data.subarray(start, end + 1)), header);
      }

      const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
      assert.equal(del.status, 204, describe(del));
      assert.ok(!(await images()).includes(id), 'the RBD image is removed');
    });

    test('a client gone mid-upload (chunked, size unknown) leaves no RBD image', async () => {
      const created = await json('POST', `${base}/v2/images`, { name: 'dropped', disk_format: 'raw', container_format: 'bare' }, ADMIN);
      const id = created.body.id as string;
      const up = startSlowUpload(`${base}/v2/images/${id}/file`, { totalBytes: 64 * MiB, chunkBytes: 256 * 1024, delayMs: 1, headers: ADMIN });
      // Past three 1 MiB objects, so the image exists and has grown.
      await up.sentAtLeast(3 * MiB + 1);
      for (let i = 0; i < 200 && !(await images()).some((n) => n.endsWith(id)); i++) await sleep(25);
      assert.ok((await images()).some((n) => n.endsWith(id)), 'a staging image was being written');
      up.req.destroy();
      await up.settled;
      let left = (await images()).filter((n) => n.includes(id));
      for (let i = 0; i < 200 && left.length > 0; i++) {
        await sleep(25);
        left = (await images()).filter((n) => n.includes(id));
      }
      assert.deepEqual(left, [], 'no image and no staging image of the dropped upload');
      assert.equal((await show(base, id)).status, 'queued', 'back to queued, as Glance');
    });

    test('while a clone depends on the image, delete answers 409 as Glance and keeps both', async () => {
      const data = randomBytes(MiB + 5);
      const id = await createAndUpload(base, data);
      await ceph.rbd('clone', `${ceph.pool}/${id}@snap`, `${ceph.pool}/${id}-vm-disk`);
      const refused = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
      assert.equal(refused.status, 409, describe(refused));
      assert.match(
        refused.text,
        new RegExp(`Image ${id} could not be deleted because it is in use: The image cannot be deleted because it is in use through the backend store outside of Glance\\.`),
      );
      assert.equal((await show(base, id)).status, 'active', 'the image is kept');
      assert.equal(md5((await getBytes(`${base}/v2/images/${id}/file`, ADMIN)).bytes), md5(data), 'with its data');
      assert.ok((await images()).includes(`${id}-vm-disk`), 'the clone is kept');

      await ceph.rbd('rm', `${ceph.pool}/${id}-vm-disk`);
      const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
      assert.equal(del.status, 204, describe(del));
      assert.ok(!(await images()).includes(id));
    });
  });

  suite('multi-store: enabled_backends = local:file,ceph:rbd', () => {
    let iris: IrisProcess;
    let base: string;
    before(async () => {
      iris = await startIris({
        env: {
          IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,ceph:rbd',
          IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'ceph',
          IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
          ...rbdEnv('IRIS__CEPH__'),
          IRIS__CEPH__RBD_THIN_PROVISIONING: 'true',
        },
      });
      base = iris.baseUrl;
    });
    after(async () => {
      await iris?.stop();
    });

    test("stores/detail shows Glance's rbd properties", async () => {
      const detail = await json('GET', `${base}/v2/info/stores/detail`, undefined, ADMIN);
      assert.equal(detail.status, 200, describe(detail));
      const ceph = detail.body.stores.find((s: any) => s.id === 'ceph');
      assert.deepEqual(
        { type: ceph.type, properties: ceph.properties, default: ceph.default },
        { type: 'rbd', properties: { chunk_size: MiB, pool: 'images', thin_provisioning: true }, default: 'true' },
      );
    });

    test('upload to ceph, copy-image to local, per-store delete of the rbd copy, delete', async () => {
      const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(MiB), randomBytes(1000)]);
      const id = await createAndUpload(base, data);
      const image = await show(base, id);
      assert.equal(image.stores, 'ceph');
      assert.equal(image.direct_url, `rbd://${ceph.fsid}/${ceph.pool}/${id}/snap`);
      const part = await getBytes(`${base}/v2/images/${id}/file`, { ...ADMIN, Range: `bytes=${MiB - 10}-${2 * MiB + 10}` });
      assert.equal(part.status, 206);
      assert.ok(part.bytes.equals(data.subarray(MiB - 10, 2 * MiB + 11)));

      const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local'] }, ADMIN);
      assert.equal(copy.status, 202, describe(copy));
      let copied: any;
      for (let i = 0; i < 600; i++) {
        copied = await show(base, id);
        if (copied.stores === 'ceph,local' && copied.os_glance_importing_to_stores === '') break;
        await sleep(50);
      }
      assert.equal(copied.stores, 'ceph,local', JSON.stringify(copied));

      const dropRbd = await json('DELETE', `${base}/v2/stores/ceph/${id}`, undefined, ADMIN);
      assert.equal(dropRbd.status, 204, describe(dropRbd));
      assert.ok(!(await images()).includes(id), 'the rbd copy is removed');
      assert.equal(md5((await getBytes(`${base}/v2/images/${id}/file`, ADMIN)).bytes), md5(data), 'served from the file copy');

      const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
      assert.equal(del.status, 204, describe(del));
    });

    test('upload to local, copy-image to ceph, then served by Range from rbd alone', async () => {
      const data = randomBytes(2 * MiB + 99);
      const created = await json('POST', `${base}/v2/images`, { name: 'file-first', disk_format: 'raw', container_format: 'bare' }, ADMIN);
      const id = created.body.id as string;
      const put = await putBytes(`${base}/v2/images/${id}/file`, data, { ...ADMIN, 'X-Image-Meta-Store': 'local' });
      assert.equal(put.status, 204, describe(put));
      const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['ceph'] }, ADMIN);
      assert.equal(copy.status, 202, describe(copy));
      let copied: any;
      for (let i = 0; i < 600; i++) {
        copied = await show(base, id);
        if (copied.stores === 'local,ceph' && copied.os_glance_importing_to_stores === '') break;
        await sleep(50);
      }
      assert.equal(copied.stores, 'local,ceph', JSON.stringify(copied));
      assert.ok((await images()).includes(id));
      const dropFile = await json('DELETE', `${base}/v2/stores/local/${id}`, undefined, ADMIN);
      assert.equal(dropFile.status, 204, describe(dropFile));
      assert.equal((await show(base, id)).direct_url, `rbd://${ceph.fsid}/${ceph.pool}/${id}/snap`);
      const part = await getBytes(`${base}/v2/images/${id}/file`, { ...ADMIN, Range: 'bytes=1048570-' });
      assert.equal(part.status, 206);
      assert.ok(part.bytes.equals(data.subarray(1048570)));
      const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
      assert.equal(del.status, 204, describe(del));
      assert.ok(!(await images()).includes(id));
    });
  });
}
