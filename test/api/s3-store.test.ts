/**
 * Iris with `default_store = s3` against Swift's s3api (the project's Swift starter), over real
 * HTTP and through glanceclient: upload (multipart past one 5 MB part), show, whole and ranged download, the location
 * Iris records (Glance's form, no keys), delete removing the object; then the same store as one
 * of `enabled_backends` next to a file store: discovery properties, copy-image file → s3, and
 * per-store delete leaving s3 to serve the bytes.
 */
import { after, before, describe as group, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';
import { swiftS3Client } from '../helpers/swift-s3-client.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { makeHome, runCli } from '../helpers/cli.js';
import { parsePropertyTable } from '../helpers/cli-table.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const ADMIN = { 'X-Project-Id': 'project-a', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'user-a' };
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

const haveSwift = requireSwift();
let swift: SwiftServer | undefined;
let s3: S3Client | undefined;

before(async () => {
  if (!haveSwift) return;
  swift = await startSwift();
  s3 = swiftS3Client(swift);
});
after(async () => {
  s3?.destroy();
  await swift?.stop();
});

/** The s3 options in `section`, as environment overrides (IRIS__SECTION__OPTION). */
function s3Env(section: string, bucket: string): Record<string, string> {
  const sw = swift!;
  const p = `IRIS__${section.toUpperCase()}__`;
  return {
    [`${p}S3_STORE_HOST`]: sw.s3Endpoint,
    [`${p}S3_STORE_ACCESS_KEY`]: sw.s3AccessKey,
    [`${p}S3_STORE_SECRET_KEY`]: sw.s3SecretKey,
    [`${p}S3_STORE_BUCKET`]: bucket,
    [`${p}S3_STORE_CREATE_BUCKET_ON_PUT`]: 'true',
    [`${p}S3_STORE_LARGE_OBJECT_SIZE`]: '5',
    [`${p}S3_STORE_LARGE_OBJECT_CHUNK_SIZE`]: '5',
    [`${p}S3_STORE_THREAD_POOLS`]: '2',
  };
}

async function bucketNames(bucket: string): Promise<string[]> {
  const objects = await s3!.send(new ListObjectsV2Command({ Bucket: bucket }));
  const uploads = await s3!.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return [...(objects.Contents ?? []).map((o) => o.Key ?? ''), ...(uploads.Uploads ?? []).map((u) => `upload:${u.Key ?? ''}`)];
}

async function createImage(base: string, name: string): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

group('default_store = s3', { skip: haveSwift ? false : 'Swift is not installed (see the SKIP line above)' }, () => {
  let iris: IrisProcess;
  const bucket = `iris-api-${randomUUID().slice(0, 8)}`;
  before(async () => {
    iris = await startIris({
      env: {
        IRIS__GLANCE_STORE__STORES: 's3',
        IRIS__GLANCE_STORE__DEFAULT_STORE: 's3',
        IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
        ...s3Env('glance_store', bucket),
      },
    });
  });
  after(() => iris?.stop());

  test('upload, show, download whole and ranged, delete: the bytes live in the bucket', async () => {
    const base = iris.baseUrl;
    const data = randomBytes(12 * MiB + 12345);
    const id = await createImage(base, 's3-lifecycle');
    const up = await putBytes(`${base}/v2/images/${id}/file`, data, ADMIN);
    assert.equal(up.status, 204, describe(up) + iris.logs().slice(-2000));

    const shown = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(shown.status, 200, describe(shown));
    assert.equal(shown.body.status, 'active');
    assert.equal(shown.body.size, data.length);
    assert.equal(shown.body.checksum, md5(data));
    const host = new URL(swift!.s3Endpoint).host;
    // Glance's location form, without the keys.
    assert.equal(shown.body.direct_url, `s3://${host}/${bucket}/${id}`);
    assert.ok(!JSON.stringify(shown.body).includes(swift!.s3SecretKey), 'no secret in the image');

    // In the bucket, as a 3-part multipart object.
    const head = await s3!.send(new HeadObjectCommand({ Bucket: bucket, Key: id }));
    assert.equal(head.ContentLength, data.length);
    assert.match(head.ETag ?? '', /-3"?$/);

    const whole = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
    assert.equal(whole.status, 200);
    assert.equal(md5(whole.bytes), md5(data));
    const start = 5 * MiB - 10;
    const end = 10 * MiB + 10;
    const ranged = await getBytes(`${base}/v2/images/${id}/file`, { ...ADMIN, Range: `bytes=${start}-${end}` });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
    assert.ok(ranged.bytes.equals(data.subarray(start, end + 1)));

    const del = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(del.status, 204, describe(del));
    assert.deepEqual(await bucketNames(bucket), []);
  });

  test('glanceclient: image-create --file, image-show, image-download, image-delete', async (t) => {
    if (!requireTool('glance', GLANCE)) {
      t.skip('glance (python3-glanceclient) is not installed');
      return;
    }
    const base = iris.baseUrl;
    const work = mkdtempSync(join(tmpdir(), 'iris-s3-glancecli-'));
    const home = makeHome();
    t.after(() => {
      rmSync(work, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    });
    const glance = async (...args: string[]): Promise<string> => {
      const r = await runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', 'dummy', '--os-auth-url', `${base}/no-keystone`, ...args], {
        home,
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.describe() + iris.logs().slice(-2000));
      return r.stdout;
    };
    const data = randomBytes(6 * MiB + 777);
    writeFileSync(join(work, 'disk.img'), data);
    const created = parsePropertyTable(
      await glance('image-create', '--name', 's3-cli', '--disk-format', 'raw', '--container-format', 'bare', '--file', join(work, 'disk.img')),
    );
    assert.equal(created.status, 'active');
    assert.equal(created.checksum, md5(data));
    const id = created.id!;
    assert.equal(parsePropertyTable(await glance('image-show', id)).size, String(data.length));
    await glance('image-download', '--file', join(work, 'back.img'), id);
    assert.equal(md5(readFileSync(join(work, 'back.img'))), md5(data));
    await glance('image-delete', id);
    assert.deepEqual(await bucketNames(bucket), []);
  });

  test('an upload cut off mid-way leaves the image queued and nothing in the bucket', async () => {
    const base = iris.baseUrl;
    const id = await createImage(base, 's3-cut');
    const controller = new AbortController();
    let sent = 0;
    // 11 MiB announced, 8 MiB sent (past one part), then the client goes away.
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= 8 * MiB) {
          await sleep(300);
          controller.abort();
          return;
        }
        sent += MiB;
        c.enqueue(randomBytes(MiB));
      },
    });
    await assert.rejects(
      fetch(`${base}/v2/images/${id}/file`, {
        method: 'PUT',
        headers: { ...ADMIN, 'Content-Type': 'application/octet-stream', 'Content-Length': String(11 * MiB) },
        body,
        duplex: 'half',
        signal: controller.signal,
      } as RequestInit),
    );
    // The server notices the reset, aborts the multipart upload and puts the image back.
    let status = '';
    for (let i = 0; i < 100 && status !== 'queued'; i++) {
      await sleep(100);
      status = (await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN)).body.status;
    }
    assert.equal(status, 'queued', iris.logs().slice(-2000));
    let left = await bucketNames(bucket);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await sleep(100);
      left = await bucketNames(bucket);
    }
    assert.deepEqual(left, []);
  });
});

group('enabled_backends = local:file,objects:s3', { skip: haveSwift ? false : 'Swift is not installed (see the SKIP line above)' }, () => {
  let iris: IrisProcess;
  const bucket = `iris-multi-${randomUUID().slice(0, 8)}`;
  before(async () => {
    iris = await startIris({
      env: {
        IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,objects:s3',
        IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
        ...s3Env('objects', bucket),
      },
    });
  });
  after(() => iris?.stop());

  test('stores/detail shows the s3 store\'s properties in bytes, as Glance', async () => {
    const detail = await json('GET', `${iris.baseUrl}/v2/info/stores/detail`, undefined, ADMIN);
    assert.equal(detail.status, 200, describe(detail));
    const objects = detail.body.stores.find((s: { id: string }) => s.id === 'objects');
    assert.equal(objects.type, 's3');
    assert.deepEqual(objects.properties, {
      s3_store_large_object_size: 5 * MiB,
      s3_store_large_object_chunk_size: 5 * MiB,
      s3_store_thread_pools: 2,
    });
    assert.ok(!detail.text.includes(swift!.s3SecretKey), 'no secret in discovery');
  });

  test('copy-image file → s3, download from either, per-store delete removes the object', async () => {
    const base = iris.baseUrl;
    const data = randomBytes(7 * MiB + 3);
    const id = await createImage(base, 'copy-to-s3');
    const up = await putBytes(`${base}/v2/images/${id}/file`, data, ADMIN);
    assert.equal(up.status, 204, describe(up));
    const copy = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['objects'] }, ADMIN);
    assert.equal(copy.status, 202, describe(copy));
    let image: { stores?: string; status?: string } = {};
    for (let i = 0; i < 200 && image.stores !== 'local,objects'; i++) {
      await sleep(100);
      image = (await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN)).body;
    }
    assert.equal(image.stores, 'local,objects', JSON.stringify(image) + iris.logs().slice(-2000));
    const head = await s3!.send(new HeadObjectCommand({ Bucket: bucket, Key: id }));
    assert.equal(head.ContentLength, data.length);

    // With the file copy gone, the bytes come from s3.
    const del = await json('DELETE', `${base}/v2/stores/local/${id}`, undefined, ADMIN);
    assert.equal(del.status, 204, describe(del));
    const back = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
    assert.equal(back.status, 200);
    assert.equal(md5(back.bytes), md5(data));

    const gone = await json('DELETE', `${base}/v2/images/${id}`, undefined, ADMIN);
    assert.equal(gone.status, 204, describe(gone));
    assert.deepEqual(await bucketNames(bucket), []);
  });
});
