/**
 * The drivers' health probes (BlobDriver.probe, used by the detailed /healthcheck): one cheap
 * request that succeeds on a reachable store and fails, with a reason, on an unreachable or
 * misconfigured one. Filesystem on temp dirs; S3 (s3api) and Swift on one real Swift.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesystemDriver } from '../../src/blob/drivers/filesystem-driver.js';
import { createS3Driver } from '../../src/blob/drivers/s3-driver.js';
import { createSwiftDriver } from '../../src/blob/drivers/swift-driver.js';
import { warnCleanup } from '../../src/blob/cleanup-report.js';
import type { S3DriverOptions } from '../../src/blob/store-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';
import { swiftOptions } from '../helpers/swift-driver-options.js';

const signal = () => AbortSignal.timeout(30_000);

test('filesystem probe: creates a missing store directory and passes; fails where no directory can be', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-probe-'));
  try {
    const dir = join(root, 'images');
    await createFilesystemDriver({ dir }).probe!(signal());
    assert.ok(existsSync(dir));
    writeFileSync(join(root, 'a-file'), '');
    await assert.rejects(createFilesystemDriver({ dir: join(root, 'a-file', 'images') }).probe!(signal()), /ENOTDIR|EEXIST/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

describe('S3 and Swift probes on a real Swift', { skip: !requireSwift() && 'Swift is not installed (see the SKIP line above)' }, () => {
  let started: Promise<SwiftServer> | undefined;
  const swift = () => (started ??= startSwift());
  after(async () => {
    if (started) await (await started).stop();
  });

  const s3Options = (sw: SwiftServer, over: Partial<S3DriverOptions> = {}): S3DriverOptions => ({
    s3_store_host: sw.s3Endpoint,
    s3_store_access_key: sw.s3AccessKey,
    s3_store_secret_key: sw.s3SecretKey,
    s3_store_bucket: `iris-${randomUUID().slice(0, 8)}`,
    s3_store_create_bucket_on_put: true,
    s3_store_bucket_url_format: 'auto',
    s3_store_large_object_size: 100,
    s3_store_large_object_chunk_size: 10,
    s3_store_thread_pools: 2,
    s3_store_region_name: null,
    s3_store_cacert: null,
    storeId: 's3',
    onCleanupError: warnCleanup,
    ...over,
  });

  test('s3: a bucket made on the first put passes; a missing bucket without it, and a bad key, fail', async () => {
    const sw = await swift();
    await createS3Driver(s3Options(sw)).probe!(signal());
    await assert.rejects(createS3Driver(s3Options(sw, { s3_store_create_bucket_on_put: false })).probe!(signal()));
    await assert.rejects(createS3Driver(s3Options(sw, { s3_store_secret_key: 'wrong' })).probe!(signal()));
  });

  test('swift: the account answers with a valid token; a wrong key fails', async () => {
    const sw = await swift();
    await createSwiftDriver(swiftOptions(sw)).probe!(signal());
    await assert.rejects(createSwiftDriver(swiftOptions(sw, { swift_store_key: 'wrong' })).probe!(signal()));
  });
});
