/**
 * The s3 driver on its own against Swift's s3api (the project's Swift starter): upload and
 * download throughput of one object, and the upload's memory peak, for a part size and a number
 * of parallel parts. It checks the (thread_pools + 1) × chunk bound of s3-upload.ts: the source
 * is generated, so every byte held beyond the process's baseline is the driver's.
 *
 *   node --expose-gc --import tsx bench/s3-driver.ts [MiB=512] [chunk MB=10] [thread_pools=10]
 *   LIVE=1 node --expose-gc --import tsx bench/s3-driver.ts 256 5 2   # peak of live memory only
 *
 * Then, in the same run, the same object through the SDK alone (lib-storage's Upload with the
 * same part size and queue, GetObject piped to md5): the store's own limit on this machine.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cpus, loadavg } from 'node:os';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Driver } from '../src/blob/drivers/s3-driver.js';
import { startSwift } from '../test/helpers/swift-server.js';
import { swiftS3Client } from '../test/helpers/swift-s3-client.js';

const MiB = 1024 * 1024;
const [sizeMiB = 512, chunkMB = 10, threads = 10] = process.argv.slice(2).map(Number);
const piece = 64 * 1024;

/** `total` bytes in 64 KiB pieces (the size of an HTTP body's chunks) from a reused random block. */
const block = randomBytes(4 * MiB);
function generated(total: number, md5: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(piece, total - sent);
      // A fresh buffer per piece, as a socket hands them out: the driver may hold on to them.
      const chunk = Buffer.from(block.subarray(sent % block.length, (sent % block.length) + n));
      md5.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
}

const swift = await startSwift();
try {
  const driver = createS3Driver({
    s3_store_host: swift.s3Endpoint,
    s3_store_access_key: swift.s3AccessKey,
    s3_store_secret_key: swift.s3SecretKey,
    s3_store_bucket: 'bench',
    s3_store_create_bucket_on_put: true,
    s3_store_bucket_url_format: 'auto',
    s3_store_region_name: null,
    s3_store_large_object_size: 100,
    s3_store_large_object_chunk_size: chunkMB,
    s3_store_thread_pools: threads,
    s3_store_cacert: null,
    storeId: 's3',
    onCleanupError: (m, e) => console.error(m, e),
  });
  // Warm up (bucket creation, sockets) so the measured run is the transfer alone.
  await driver.write('warmup', Readable.from([Buffer.alloc(1000)]));
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakBuffers = base.arrayBuffers;
  // With LIVE=1 (and --expose-gc) each sample follows a full GC: the peak is then what the
  // driver really holds, not garbage V8 has yet to collect.
  const live = process.env.LIVE === '1' && typeof global.gc === 'function';
  const sampler = setInterval(() => {
    if (live) global.gc?.();
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 20);
  const total = sizeMiB * MiB;
  const md5Up = createHash('md5');
  const t0 = process.hrtime.bigint();
  const { location, bytes } = await driver.write(randomUUID(), generated(total, md5Up));
  const t1 = process.hrtime.bigint();
  clearInterval(sampler);
  const md5Down = createHash('md5');
  const t2 = process.hrtime.bigint();
  const { stream } = await driver.read(location);
  await pipeline(stream, new Writable({ write(chunk: Buffer, _e, cb) { md5Down.update(chunk); cb(); } }));
  const t3 = process.hrtime.bigint();
  await driver.delete(location);
  const secs = (a: bigint, b: bigint): number => Number(b - a) / 1e9;
  const up = sizeMiB / secs(t0, t1);
  const down = sizeMiB / secs(t2, t3);
  const same = md5Up.digest('hex') === md5Down.digest('hex');
  // The SDK alone, same object size, part size and parallelism.
  const sdk = swiftS3Client(swift);
  const sdkKey = randomUUID();
  const md5SdkUp = createHash('md5');
  const t4 = process.hrtime.bigint();
  await new Upload({
    client: sdk,
    params: { Bucket: 'bench', Key: sdkKey, Body: generated(total, md5SdkUp) },
    partSize: chunkMB * MiB,
    queueSize: threads,
  }).done();
  const t5 = process.hrtime.bigint();
  const md5SdkDown = createHash('md5');
  const got = await sdk.send(new GetObjectCommand({ Bucket: 'bench', Key: sdkKey }));
  await pipeline(got.Body as Readable, new Writable({ write(chunk: Buffer, _e, cb) { md5SdkDown.update(chunk); cb(); } }));
  const t6 = process.hrtime.bigint();
  sdk.destroy();
  console.log(JSON.stringify({
    sdkUploadMiBs: Number((sizeMiB / secs(t4, t5)).toFixed(1)),
    sdkDownloadMiBs: Number((sizeMiB / secs(t5, t6)).toFixed(1)),
    sdkMd5Match: md5SdkUp.digest('hex') === md5SdkDown.digest('hex'),
  }));
  console.log(JSON.stringify({
    cpu: cpus()[0]?.model,
    load: loadavg().map((l) => l.toFixed(2)),
    MiB: sizeMiB, bytes, chunkMB, threads, liveSamples: live,
    uploadMiBs: Number(up.toFixed(1)),
    downloadMiBs: Number(down.toFixed(1)),
    md5Match: same,
    boundMiB: (threads + 1) * chunkMB,
    peakArrayBuffersOverBaseMiB: Number(((peakBuffers - base.arrayBuffers) / MiB).toFixed(1)),
    peakRssOverBaseMiB: Number(((peakRss - base.rss) / MiB).toFixed(1)),
  }));
} finally {
  await swift.stop();
}
