/**
 * Issue 15's client proof: Debian's glanceclient drives the image lifecycle against Iris whose
 * bytes live in a real Swift (the project's one-node Swift, started once for this file), first
 * with `[glance_store] stores = swift, default_store = swift` (tempauth, auth v1, as
 * docs/swift.md), then with `default_store = s3` against the same Swift's s3api (docs/store-s3.md);
 * then multi-store `enabled_backends = local:file,objects:swift,bucket:s3`: upload to local,
 * `image-import --import-method copy-image` to objects then bucket, `stores-delete` of the local
 * and swift copies, and the download still gives the same md5, now from s3.
 *
 * Each Iris is configured with a glance-api.conf written as an operator writes it. Where the
 * bytes went is checked in Swift itself: an s3api bucket is a container of the same account, so
 * one HEAD with a tempauth token sees both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { glanceAgainst, makeHome, md5, runLifecycle, type Glance } from './glance-lifecycle.js';

const haveGlance = requireTool('glance', GLANCE);
const haveSwift = haveGlance && requireSwift();
const skip = !haveGlance ? 'glance not installed (see the SKIP line above)' : !haveSwift ? 'Swift not installed (see the SKIP line above)' : false;
const STEP = { timeout: 300_000 };

let swift: SwiftServer;
let work: string;

before(async () => {
  if (skip !== false) return;
  swift = await startSwift();
  work = mkdtempSync(join(tmpdir(), 'iris-glance-stores-'));
});
after(async () => {
  await swift?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** The size of `container/object` in the test account, or undefined when Swift answers 404. */
async function objectSize(container: string, object: string): Promise<number | undefined> {
  const { storageUrl, token } = await swift.auth();
  const res = await fetch(`${storageUrl}/${container}/${object}`, { method: 'HEAD', headers: { 'x-auth-token': token } });
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `HEAD ${container}/${object}: ${res.status}`);
  return Number(res.headers.get('content-length'));
}

function swiftOptions(container: string): string {
  return [
    'swift_store_auth_version = 1',
    `swift_store_auth_address = ${swift.authUrl}`,
    `swift_store_user = ${swift.user}`,
    `swift_store_key = ${swift.key}`,
    `swift_store_container = ${container}`,
    'swift_store_create_container_on_put = true',
    // Small segments, so a few MiB is a segmented (DLO) object as Glance writes big images.
    'swift_store_large_object_size = 2',
    'swift_store_large_object_chunk_size = 1',
  ].join('\n');
}

function s3Options(bucket: string): string {
  return [
    `s3_store_host = ${swift.s3Endpoint}`,
    `s3_store_access_key = ${swift.s3AccessKey}`,
    `s3_store_secret_key = ${swift.s3SecretKey}`,
    `s3_store_bucket = ${bucket}`,
    's3_store_create_bucket_on_put = true',
    // Multipart from 5 MB on, parts of 5 MB (s3's minimum).
    's3_store_large_object_size = 5',
    's3_store_large_object_chunk_size = 5',
  ].join('\n');
}

/** Starts Iris on `conf` (a glance-api.conf body) and returns it with a glanceclient bound to it. */
async function irisWith(conf: string): Promise<{ iris: IrisProcess; g: Glance; home: string }> {
  const file = join(work, `glance-api-${randomBytes(4).toString('hex')}.conf`);
  writeFileSync(file, conf);
  const iris = await startIris({ args: ['--config-file', file] });
  const home = makeHome();
  return { iris, g: glanceAgainst(iris.baseUrl, home, () => iris.logs()), home };
}

describe('glanceclient lifecycle, default_store = swift', { skip }, () => {
  let iris: IrisProcess;
  let g: Glance;
  let home: string;
  before(async () => {
    ({ iris, g, home } = await irisWith(`[glance_store]\nstores = swift\ndefault_store = swift\n${swiftOptions('glance')}\n`));
  });
  after(async () => {
    await iris?.stop();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  test('create, upload, show, list, download, tag, member, delete: the bytes live in Swift', STEP, async () => {
    await runLifecycle(g, work, {
      async onUploaded(id, data) {
        assert.equal(await objectSize('glance', id), data.length, 'the manifest serves the whole image');
        assert.equal(await objectSize('glance', `${id}-00001`), 1024 * 1024, 'first 1 MiB segment');
      },
      async onDeleted(id) {
        assert.equal(await objectSize('glance', id), undefined, 'manifest removed');
        assert.equal(await objectSize('glance', `${id}-00001`), undefined, 'segments removed');
      },
    });
  });
});

describe('glanceclient lifecycle, default_store = s3 (Swift s3api)', { skip }, () => {
  let iris: IrisProcess;
  let g: Glance;
  let home: string;
  const bucket = `iris-s3-${randomBytes(4).toString('hex')}`;
  before(async () => {
    ({ iris, g, home } = await irisWith(`[glance_store]\nstores = s3\ndefault_store = s3\n${s3Options(bucket)}\n`));
  });
  after(async () => {
    await iris?.stop();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  test('create, upload, show, list, download, tag, member, delete: the bytes live in the bucket', STEP, async () => {
    await runLifecycle(g, work, {
      async onUploaded(id, data) {
        assert.equal(await objectSize(bucket, id), data.length);
      },
      async onDeleted(id) {
        assert.equal(await objectSize(bucket, id), undefined, 'object removed from the bucket');
      },
    });
  });
});

describe('multi-store local:file,objects:swift,bucket:s3: copy-image and per-store delete', { skip }, () => {
  let iris: IrisProcess;
  let g: Glance;
  let home: string;
  let id: string | undefined;
  const bucket = `iris-copy-${randomBytes(4).toString('hex')}`;
  const data = randomBytes(3 * 1024 * 1024 + 777);
  before(async () => {
    ({ iris, g, home } = await irisWith(
      [
        '[DEFAULT]',
        'enabled_backends = local:file,objects:swift,bucket:s3',
        '[glance_store]',
        'default_backend = local',
        '[local]',
        `filesystem_store_datadir = ${join(work, 'local-store')}`,
        '[objects]',
        swiftOptions('copies'),
        '[bucket]',
        s3Options(bucket),
        '',
      ].join('\n'),
    ));
  });
  after(async () => {
    await iris?.stop();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  /** image-show until `done` holds: copy-image runs as an asynchronous task. */
  async function showUntil(done: (img: Record<string, string>) => boolean, what: string): Promise<Record<string, string>> {
    const deadline = Date.now() + 60_000;
    let img = await g.show(id!);
    while (!done(img)) {
      if (Date.now() > deadline) assert.fail(`image ${id} never ${what}: ${JSON.stringify(img)}\n${iris.logs().slice(-3000)}`);
      await sleep(250);
      img = await g.show(id!);
    }
    return img;
  }

  async function downloadMd5(): Promise<string> {
    const out = join(work, `copy-${randomBytes(4).toString('hex')}.out`);
    await g.ok('image-download', '--file', out, id!);
    return md5(readFileSync(out));
  }

  test('upload to local', STEP, async () => {
    const file = join(work, 'copy.img');
    writeFileSync(file, data);
    const created = await g.ok('image-create', '--name', 'iris-copy', '--disk-format', 'raw', '--container-format', 'bare');
    id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(created.stdout)?.[1];
    assert.ok(id, created.describe());
    await g.ok('image-upload', '--file', file, '--store', 'local', id);
    const img = await g.show(id);
    assert.equal(img.status, 'active');
    assert.equal(img.stores, 'local');
    assert.equal(img.checksum, md5(data));
  });

  test('image-import copy-image --stores objects, then --stores bucket → stores local,objects,bucket', STEP, async () => {
    assert.ok(id, 'upload failed earlier');
    await g.ok('image-import', id, '--import-method', 'copy-image', '--stores', 'objects');
    await showUntil((i) => i.stores === 'local,objects' && !i.os_glance_importing_to_stores, 'reached local,objects');
    assert.equal(await objectSize('copies', id), data.length, 'the swift copy is in Swift');

    await g.ok('image-import', id, '--import-method', 'copy-image', '--stores', 'bucket');
    const img = await showUntil((i) => i.stores === 'local,objects,bucket' && !i.os_glance_importing_to_stores, 'reached local,objects,bucket');
    assert.equal(img.status, 'active');
    assert.equal(img.checksum, md5(data));
    assert.equal(img.os_glance_failed_import ?? '', '');
    assert.equal(await objectSize(bucket, id), data.length, 'the s3 copy is in the bucket');
  });

  test('stores-delete local and objects: the image stays active, downloads the same md5 from s3', STEP, async () => {
    assert.ok(id, 'upload failed earlier');
    await g.ok('stores-delete', id, '--store', 'local');
    assert.equal((await g.show(id)).stores, 'objects,bucket');
    await g.ok('stores-delete', id, '--store', 'objects');
    const img = await g.show(id);
    assert.equal(img.stores, 'bucket');
    assert.equal(img.status, 'active');
    assert.equal(await objectSize('copies', id), undefined, 'the swift copy is gone from Swift');
    assert.equal(await downloadMd5(), md5(data));

    await g.ok('image-delete', id);
    assert.equal(await objectSize(bucket, id), undefined, 'image-delete removed the s3 copy');
    id = undefined;
  });
});
