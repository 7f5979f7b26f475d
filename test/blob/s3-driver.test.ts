/**
 * The s3 driver against a real S3 protocol: Swift 2.30's s3api (SigV4, path style) started by
 * the project's Swift starter, with tempauth's `test:tester` as the access key (a colon, which
 * glance_store's own location parsing gets wrong). One Swift for the file: the driver contract
 * with 5 MiB parts (s3api refuses smaller parts but the last, as AWS does), then what only S3 has.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import { createS3Driver } from '../../src/blob/drivers/s3-driver.js';
import type { S3DriverOptions } from '../../src/blob/store-options.js';
import { uploadToS3 } from '../../src/blob/drivers/s3-upload.js';
import { Invalid, NotFound } from '../../src/domain/errors.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';
import { swiftS3Client } from '../helpers/swift-s3-client.js';
import * as S3_SDK from '@aws-sdk/client-s3';
import { readAll, sourceOf } from '../helpers/blob-streams.js';
import { describeDriverContract, stallingSource } from './driver-contract.js';

const MiB = 1024 * 1024;
/** s3api's `min_segment_size` (and AWS's): the smallest part but the last. */
const PART = 5 * MiB;

let swiftStarted: Promise<SwiftServer> | undefined;
/** One Swift for every test of the file, started on first use. */
function swift(): Promise<SwiftServer> {
  swiftStarted ??= startSwift();
  return swiftStarted;
}
after(async () => {
  if (swiftStarted) await (await swiftStarted).stop();
});

function optionsFor(sw: SwiftServer, over: Partial<S3DriverOptions> = {}): S3DriverOptions {
  return {
    s3_store_host: sw.s3Endpoint,
    s3_store_access_key: sw.s3AccessKey,
    s3_store_secret_key: sw.s3SecretKey,
    s3_store_bucket: `iris-${randomUUID().slice(0, 8)}`,
    s3_store_create_bucket_on_put: true,
    s3_store_bucket_url_format: 'auto',
    // The smallest Glance allows: every object of one part or more goes up as a multipart upload.
    s3_store_large_object_size: 5,
    s3_store_large_object_chunk_size: 5,
    s3_store_thread_pools: 3,
    s3_store_region_name: null,
    s3_store_cacert: null,
    storeId: 's3',
    onCleanupError: (message, error) => assert.fail(`cleanup reported: ${message}: ${String(error)}`),
    ...over,
  };
}

/** Object keys and pending multipart uploads of a bucket (the driver's staging). */
async function bucketContents(client: S3Client, bucket: string): Promise<string[]> {
  const names: string[] = [];
  try {
    const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of objects.Contents ?? []) names.push(o.Key ?? '');
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? []) names.push(`upload:${u.Key ?? ''}`);
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
  }
  return names;
}

test('s3 driver: options Glance refuses at start are refused by the factory', () => {
  const base: S3DriverOptions = {
    s3_store_host: 'http://127.0.0.1:1',
    s3_store_access_key: 'a:b',
    s3_store_secret_key: 's',
    s3_store_bucket: 'glance',
    s3_store_create_bucket_on_put: false,
    s3_store_bucket_url_format: 'auto',
    s3_store_region_name: null,
    s3_store_large_object_size: 100,
    s3_store_large_object_chunk_size: 10,
    s3_store_thread_pools: 10,
    s3_store_cacert: null,
    storeId: 's3',
    onCleanupError: () => undefined,
  };
  assert.equal(createS3Driver(base).scheme, 's3');
  assert.deepEqual(createS3Driver(base).schemes, ['s3', 's3+http']);
  const https = createS3Driver({ ...base, s3_store_host: 'https://s3.example.com' });
  assert.equal(https.scheme, 's3+https');
  assert.deepEqual(https.schemes, ['s3+https']);
  for (const [over, message] of [
    [{ s3_store_host: '' }, /Could not find s3_store_host/],
    [{ s3_store_access_key: '' }, /Could not find s3_store_access_key/],
    [{ s3_store_bucket: '' }, /Could not find s3_store_bucket/],
    [{ s3_store_large_object_chunk_size: 4 }, /chunk_size must be at least 5 MB/],
    [{ s3_store_thread_pools: 0 }, /thread_pools must be a positive integer/],
    [{ s3_store_large_object_size: 0 }, /large_object_size must be a positive/],
    [{ s3_store_bucket_url_format: 'virtual', s3_store_bucket: 'has.dots' }, /virtual-host style/],
  ] as const) {
    assert.throws(() => createS3Driver({ ...base, ...over }), (err: unknown) => err instanceof Invalid && message.test(err.message));
  }
});

if (!requireSwift()) {
  test('s3 driver against Swift s3api', (t) => {
    t.skip('Swift is not installed (see the SKIP line above)');
  });
} else {
  describeDriverContract('s3 (Swift s3api)', async () => {
    const sw = await swift();
    const opts = optionsFor(sw);
    const client = swiftS3Client(sw);
    return {
      driver: createS3Driver(opts),
      chunkSize: PART,
      listLeftovers: () => bucketContents(client, opts.s3_store_bucket),
      foreignLocations: [
        `s3://127.0.0.1:1/${opts.s3_store_bucket}/x`,
        `s3+https://${new URL(sw.s3Endpoint).host}/${opts.s3_store_bucket}/x`,
        `s3://${new URL(sw.s3Endpoint).host}/another-bucket/x`,
        `s3://${new URL(sw.s3Endpoint).host}/${opts.s3_store_bucket}/..`,
        `swift+http://${new URL(sw.s3Endpoint).host}/${opts.s3_store_bucket}/x`,
      ],
      async teardown() {
        client.destroy();
      },
    };
  });

  describe('s3 driver (Swift s3api)', () => {
    test('locations are Glance\'s form without credentials; a Glance-form location with a colon key resolves', async () => {
      const sw = await swift();
      const opts = optionsFor(sw);
      const driver = createS3Driver(opts);
      const host = new URL(sw.s3Endpoint).host;
      const key = randomUUID();
      const data = randomBytes(1000);
      const { location } = await driver.write(key, sourceOf(data));
      assert.equal(location, `s3://${host}/${opts.s3_store_bucket}/${key}`);
      assert.ok(!location.includes(sw.s3SecretKey), 'no secret in the location');
      // What glance_store writes for the same object: `s3://ACCESS:SECRET@host/bucket/key`, with
      // ACCESS = test:tester (Glance itself would split it at the first colon and get 403).
      assert.ok(sw.s3AccessKey.includes(':'), 'the rig key has a colon');
      const glanceForm = `s3://${sw.s3AccessKey}:${sw.s3SecretKey}@${host}/${opts.s3_store_bucket}/${key}`;
      assert.ok((await readAll((await driver.read(glanceForm)).stream)).equals(data));
      // glance_store also reads `s3+http://` as http.
      const explicitHttp = `s3+http://${host}/${opts.s3_store_bucket}/${key}`;
      assert.ok((await readAll((await driver.read(explicitHttp)).stream)).equals(data));
      const ranged = await driver.read(glanceForm, { range: { start: 10, end: 19 } });
      assert.equal(ranged.size, 1000);
      assert.ok((await readAll(ranged.stream)).equals(data.subarray(10, 20)));
      await driver.delete(glanceForm);
      await assert.rejects(driver.read(location), NotFound);
    });

    test('objects of one part or more go up as multipart uploads, smaller ones as one PUT', async () => {
      const sw = await swift();
      const opts = optionsFor(sw, { s3_store_large_object_size: 100 });
      const driver = createS3Driver(opts);
      const client = swiftS3Client(sw);
      try {
        const small = await driver.write(randomUUID(), sourceOf(randomBytes(PART)));
        const big = await driver.write(randomUUID(), sourceOf(randomBytes(PART * 2 + 1)));
        const etag = async (location: string): Promise<string> =>
          (await client.send(new HeadObjectCommand({ Bucket: opts.s3_store_bucket, Key: location.split('/').pop() }))).ETag ?? '';
        // A multipart object's ETag ends in -<parts>.
        assert.doesNotMatch(await etag(small.location), /-\d+"?$/);
        assert.match(await etag(big.location), /-3"?$/);
      } finally {
        client.destroy();
      }
    });

    test('a failed part aborts the multipart upload: no upload, no object left', async () => {
      const sw = await swift();
      const opts = optionsFor(sw);
      const client = swiftS3Client(sw);
      await client.send(new CreateBucketCommand({ Bucket: opts.s3_store_bucket }));
      // The service refusing part 2, injected in front of the real request.
      client.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as Partial<UploadPartCommandInput>;
          if (input.UploadId && input.PartNumber === 2) throw Object.assign(new Error('part 2 refused'), { name: 'InternalError' });
          return next(args);
        },
        { step: 'initialize', name: 'failPartTwo' },
      );
      try {
        const key = randomUUID();
        await assert.rejects(
          uploadToS3({
            client,
            sdk: S3_SDK,
            bucket: opts.s3_store_bucket,
            key,
            source: sourceOf(randomBytes(PART * 4)),
            partSize: PART,
            multipartThreshold: PART,
            concurrency: 2,
            onCleanupError: (m, e) => assert.fail(`${m}: ${String(e)}`),
          }),
          /part 2 refused/,
        );
        assert.deepEqual(await bucketContents(client, opts.s3_store_bucket), []);
        const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: opts.s3_store_bucket }));
        assert.deepEqual(uploads.Uploads ?? [], []);
      } finally {
        client.destroy();
      }
    });

    test('a single PUT cut off after the service stored it: the object is removed, the error kept', async () => {
      const sw = await swift();
      const opts = optionsFor(sw);
      const client = swiftS3Client(sw);
      await client.send(new CreateBucketCommand({ Bucket: opts.s3_store_bucket }));
      // The request reaches the service and is stored, but its answer is lost (connection cut).
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          if (context.commandName === 'PutObjectCommand') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          return out;
        },
        { step: 'initialize', name: 'loseAnswer' },
      );
      try {
        await assert.rejects(
          uploadToS3({
            client,
            sdk: S3_SDK,
            bucket: opts.s3_store_bucket,
            key: randomUUID(),
            source: sourceOf(randomBytes(1000)),
            partSize: PART,
            multipartThreshold: PART,
            concurrency: 2,
            onCleanupError: (m, e) => assert.fail(`${m}: ${String(e)}`),
          }),
          /socket hang up/,
        );
        assert.deepEqual(await bucketContents(client, opts.s3_store_bucket), []);
      } finally {
        client.destroy();
      }
    });

    test('parts go up in parallel with backpressure: at most (thread_pools + 1) parts read ahead', async () => {
      const sw = await swift();
      const opts = optionsFor(sw);
      const client = swiftS3Client(sw);
      await client.send(new CreateBucketCommand({ Bucket: opts.s3_store_bucket }));
      let inFlight = 0;
      let maxInFlight = 0;
      let pulled = 0;
      let maxAhead = 0;
      let uploaded = 0;
      client.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as Partial<UploadPartCommandInput>;
          if (!input.UploadId || input.PartNumber === undefined) return next(args);
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            return await next(args);
          } finally {
            inFlight -= 1;
            uploaded += (input.Body as Buffer).length;
          }
        },
        { step: 'initialize', name: 'countParts' },
      );
      const total = PART * 8;
      const piece = 64 * 1024;
      const source = new Readable({
        read() {
          if (pulled >= total) {
            this.push(null);
            return;
          }
          pulled += piece;
          maxAhead = Math.max(maxAhead, pulled - uploaded);
          this.push(Buffer.alloc(piece, 7));
        },
      });
      try {
        const result = await uploadToS3({
          client,
          sdk: S3_SDK,
          bucket: opts.s3_store_bucket,
          key: randomUUID(),
          source,
          partSize: PART,
          multipartThreshold: PART,
          concurrency: 2,
          onCleanupError: (m, e) => assert.fail(`${m}: ${String(e)}`),
        });
        assert.deepEqual(result, { bytes: total, parts: 8 });
        assert.equal(maxInFlight, 2, 'parts in flight at once');
        // 2 parts in flight + 1 being filled + the stream's own buffer (16 KiB default
        // highWaterMark, one 64 KiB piece) and the one-piece look-ahead.
        assert.ok(maxAhead <= 3 * PART + 3 * piece, `read ahead ${maxAhead} bytes`);
      } finally {
        client.destroy();
      }
    });

    test('s3_store_create_bucket_on_put: off refuses a missing bucket and creates nothing; on creates it', async () => {
      const sw = await swift();
      const client = swiftS3Client(sw);
      try {
        const off = optionsFor(sw, { s3_store_create_bucket_on_put: false });
        await assert.rejects(createS3Driver(off).write(randomUUID(), sourceOf(randomBytes(10))), (err) => {
          // Not the caller's fault: a plain error (500), as Glance's BackendException.
          assert.ok(err instanceof Error && !(err instanceof Invalid));
          assert.match(err.message, /does not exist in S3.*s3_store_create_bucket_on_put/);
          return true;
        });
        await assert.rejects(client.send(new HeadBucketCommand({ Bucket: off.s3_store_bucket })), { name: 'NotFound' });

        const on = optionsFor(sw, { s3_store_create_bucket_on_put: true });
        const driver = createS3Driver(on);
        const { location } = await driver.write(randomUUID(), sourceOf(Buffer.from('hello')));
        await client.send(new HeadBucketCommand({ Bucket: on.s3_store_bucket }));
        const got = await client.send(new GetObjectCommand({ Bucket: on.s3_store_bucket, Key: location.split('/').pop() }));
        assert.equal(await got.Body?.transformToString(), 'hello');
        // And with the bucket there, a driver that may not create buckets writes into it.
        const existing = createS3Driver({ ...on, s3_store_create_bucket_on_put: false });
        await existing.write(randomUUID(), sourceOf(Buffer.from('again')));
      } finally {
        client.destroy();
      }
    });

    test('a stalled write shows as a staging upload, removable, and the write then fails cleanly', async () => {
      const sw = await swift();
      const opts = optionsFor(sw);
      const driver = createS3Driver(opts);
      const key = randomUUID();
      const { source, drained } = stallingSource(randomBytes(PART * 2 + 100));
      const controller = new AbortController();
      const writing = driver.write(key, source, { signal: controller.signal });
      await drained;
      const staging = (await driver.listStaging()).filter((s) => s.key === key);
      assert.equal(staging.length, 1, 'one multipart upload in progress');
      await driver.removeStaging(staging[0]!.id);
      await driver.removeStaging(staging[0]!.id);
      await assert.rejects(driver.removeStaging('no-slash'), Invalid);
      controller.abort();
      await assert.rejects(writing, { name: 'AbortError' });
      const client = swiftS3Client(sw);
      try {
        assert.deepEqual(await bucketContents(client, opts.s3_store_bucket), []);
      } finally {
        client.destroy();
      }
    });

    test('https endpoint: s3+https locations, certificate checked against s3_store_cacert', async (t) => {
      const sw = await swift();
      const dir = mkdtempSync(join(tmpdir(), 'iris-s3-tls-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      // A self-signed certificate for 127.0.0.1, and a TLS terminator in front of Swift's proxy.
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      const tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (socket) => {
        const upstream = connect(sw.proxyPort, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => tls.close(() => resolve())));
      const host = `127.0.0.1:${(tls.address() as { port: number }).port}`;
      const opts = optionsFor(sw, { s3_store_host: `https://${host}`, s3_store_cacert: join(dir, 'cert.pem') });
      const driver = createS3Driver(opts);
      const data = randomBytes(PART + 10);
      const { location } = await driver.write(randomUUID(), sourceOf(data));
      assert.ok(location.startsWith(`s3+https://${host}/${opts.s3_store_bucket}/`), location);
      assert.ok((await readAll((await driver.read(location)).stream)).equals(data));
      // The http form of the same place is another store's.
      await assert.rejects(driver.read(location.replace('s3+https://', 's3://')), Invalid);
      await driver.delete(location);
      // Without the CA bundle the self-signed certificate is refused.
      const untrusting = createS3Driver({ ...opts, s3_store_cacert: null });
      await assert.rejects(untrusting.write(randomUUID(), sourceOf(randomBytes(10))), /self[- ]signed|certificate/i);
    });

    test('wrong keys fail with the service\'s answer, and no secret appears in it', async () => {
      const sw = await swift();
      const driver = createS3Driver(optionsFor(sw, { s3_store_secret_key: 'not-the-secret-xyz' }));
      await assert.rejects(driver.write(randomUUID(), sourceOf(randomBytes(10))), (err: Error) => {
        assert.doesNotMatch(`${err.message} ${err.stack ?? ''}`, /not-the-secret-xyz/);
        return true;
      });
    });
  });
}
