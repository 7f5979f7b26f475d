/**
 * `node --import tsx bench/swift.ts`: the swift driver's throughput against the store's own limit
 * on this machine, in one run on one Swift (test/helpers/swift-server.ts): the driver's upload as
 * DLO segments (body of unknown size, Glance's 200 MB segments), as one PUT (size known), its
 * download, and the swift CLI's single-PUT upload and download of the same file. Every transfer is
 * checked by md5. Rounds are interleaved so each variant sees the same machine load.
 *
 * Then, through HTTP with curl, the same file uploaded (with Content-Length: one object; chunked:
 * DLO segments) to and downloaded from Iris (`stores = swift`) and the real Glance (the peer rig,
 * PEER_GLANCE_EXTRA_CONF with the same Swift), interleaved in each round.
 *
 * Then S3 on the same Swift (its s3api): the AWS SDK alone (lib-storage's Upload with the store's
 * part size and parallelism, GetObject checked by md5), and through HTTP Iris (`stores = s3`) and
 * the real Glance (its s3 store, boto3) with Content-Length (multipart), interleaved in each round.
 * After each HTTP upload the image's checksum must be the file's md5 and the object must be in the
 * server's bucket with the file's size and multipart ETag (the same parts the SDK's object has),
 * and gone after the image's delete. Glance's s3 driver
 * splits the keys in its locations at a colon, so both servers use the Swift starter's colon-free
 * alias of `test:tester`. Chunked uploads are left out: Glance's s3 store then buffers the whole
 * image in memory for one PUT.
 *
 * Environment (defaults in brackets):
 *   BENCH_FILE_MB    file size, MiB                    [1024]
 *   BENCH_REPS       rounds (median)                   [2]
 *   BENCH_CHUNK_MB   swift_store_large_object_chunk_size [200]
 *   BENCH_HTTP       0 skips the HTTP part (Iris and the peer Glance) [1]
 *   BENCH_PEER       0 skips the peer Glance             [1]
 *   BENCH_S3         0 skips the S3 part                 [1]
 *   BENCH_S3_CHUNK_MB  s3_store_large_object_chunk_size  [10]
 *   BENCH_S3_THREADS   s3_store_thread_pools             [10]
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwiftDriver } from '../src/blob/drivers/swift-driver.js';
import { swiftOptions } from '../test/helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../test/helpers/swift-server.js';
import { swiftS3Client } from '../test/helpers/swift-s3-client.js';
import { cpuModel } from './machine.js';
import { startIris, startPeer, type Server } from './servers.js';

const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const CHUNK_MB = Number(process.env.BENCH_CHUNK_MB ?? 200);
const MIB = 2 ** 20;
const SWIFT_CLI = '/usr/bin/swift';
const WITH_HTTP = process.env.BENCH_HTTP !== '0';
const WITH_PEER = process.env.BENCH_PEER !== '0';
const WITH_S3 = process.env.BENCH_S3 !== '0';
const S3_CHUNK_MB = Number(process.env.BENCH_S3_CHUNK_MB ?? 10);
const S3_THREADS = Number(process.env.BENCH_S3_THREADS ?? 10);
const S3_LARGE_MB = 100;
const curl = promisify(execFile);

/** The [glance_store] options pointing a store at `swift`'s main account. */
function swiftConf(swift: SwiftServer, container: string, chunkMb: number): Record<string, string> {
  return {
    stores: 'swift',
    default_store: 'swift',
    swift_store_auth_version: '1',
    swift_store_auth_address: swift.authUrl,
    swift_store_user: swift.user,
    swift_store_key: swift.key,
    swift_store_container: container,
    swift_store_create_container_on_put: 'true',
    swift_store_large_object_chunk_size: String(chunkMb),
  };
}

/** The [glance_store] options pointing a store at `swift`'s s3api, path-style (no bucket DNS on loopback). */
function s3Conf(swift: SwiftServer, bucket: string): Record<string, string> {
  return {
    stores: 's3',
    default_store: 's3',
    s3_store_host: swift.s3Endpoint,
    s3_store_access_key: swift.s3AccessKeyAlias,
    s3_store_secret_key: swift.s3SecretKey,
    s3_store_bucket: bucket,
    s3_store_create_bucket_on_put: 'true',
    s3_store_bucket_url_format: 'path',
    s3_store_large_object_size: String(S3_LARGE_MB),
    s3_store_large_object_chunk_size: String(S3_CHUNK_MB),
    s3_store_thread_pools: String(S3_THREADS),
  };
}

/**
 * Iris and, unless BENCH_PEER=0, the real Glance, each with `conf(its name)` as [glance_store]
 * (the name is its container or bucket, so each server's objects are apart).
 */
async function startServers(dir: string, part: string, conf: (name: string) => Record<string, string>): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    const irisEnv = Object.fromEntries(Object.entries(conf('iris')).map(([k, v]) => [`IRIS__GLANCE_STORE__${k.toUpperCase()}`, v]));
    servers.push(await startIris({ name: 'iris', dataDir: join(dir, `iris-${part}`), workers: 1, logFile: join(dir, `iris-${part}.log`), env: irisEnv }));
    if (WITH_PEER) {
      const extra = join(dir, `peer-${part}.conf`);
      writeFileSync(extra, `[glance_store]\n${Object.entries(conf('peer')).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
      servers.push(await startPeer({ stateDir: join(dir, `peer-${part}`), logFile: join(dir, `peer-${part}.log`), settings: { PEER_GLANCE_EXTRA_CONF: extra } }));
    }
    return servers;
  } catch (error) {
    for (const server of servers) await server.stop();
    throw error;
  }
}

/** Uploads `file` as a new image (chunked or with Content-Length); returns its id and URL. */
async function upload(server: Server, file: string, chunked: boolean, want: string): Promise<{ id: string; url: string; seconds: number }> {
  const res = await fetch(`${server.url}/v2/images`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-swift', disk_format: 'raw', container_format: 'bare' }),
  });
  if (res.status !== 201) throw new Error(`${server.name}: create answered ${res.status}`);
  const { id } = (await res.json()) as { id: string };
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:'];
  if (chunked) args.push('-H', 'Transfer-Encoding: chunked');
  const { stdout } = await curl('curl', [...args, '-T', file, `${server.url}/v2/images/${id}/file`], { maxBuffer: 1 << 20 });
  const [code, seconds] = stdout.trim().split(' ');
  if (code !== '204') throw new Error(`${server.name}: upload answered ${stdout}`);
  const image = (await (await fetch(`${server.url}/v2/images/${id}`)).json()) as { checksum?: string };
  if (image.checksum !== want) throw new Error(`${server.name}: checksum ${image.checksum}, expected ${want}`);
  return { id, url: `${server.url}/v2/images/${id}`, seconds: Number(seconds) };
}

async function downloadHttp(url: string, bytes: number): Promise<number> {
  const { stdout } = await curl('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total} %{size_download}', `${url}/file`]);
  const [code, seconds, size] = stdout.trim().split(' ');
  if (code !== '200' || Number(size) !== bytes) throw new Error(`GET ${url}: ${stdout}`);
  return Number(seconds);
}

const log = (m: string): void => void process.stderr.write(`[bench:swift] ${m}\n`);
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (!requireSwift()) process.exit(2);
  const loadStart = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'iris-bench-swift-'));
  const swift = await startSwift();
  try {
    const file = join(dir, 'image.raw');
    const block = Buffer.alloc(MIB);
    const md5 = createHash('md5');
    // S3's multipart ETag: the md5 of the parts' binary md5s, then `-<parts>`. Iris, glance_store
    // and lib-storage all cut the same S3_CHUNK_MB MiB parts, so all three objects must carry it.
    const partMd5s: Buffer[] = [];
    let part = createHash('md5');
    writeFileSync(file, '');
    for (let i = 0; i < FILE_MB; i++) {
      randomFillSync(block);
      md5.update(block);
      part.update(block);
      if ((i + 1) % S3_CHUNK_MB === 0 || i + 1 === FILE_MB) {
        partMd5s.push(part.digest());
        part = createHash('md5');
      }
      writeFileSync(file, block, { flag: 'a' });
    }
    const want = md5.digest('hex');
    const multipartEtag = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}"`;
    // One PUT (ETag = md5) below s3_store_large_object_size (100 MiB) for the servers, within one part for the SDK.
    const wantEtag = FILE_MB >= S3_LARGE_MB ? multipartEtag : `"${want}"`;
    const wantSdkEtag = FILE_MB > S3_CHUNK_MB ? multipartEtag : `"${want}"`;
    const bytes = FILE_MB * MIB;
    const driver = createSwiftDriver(swiftOptions(swift, { swift_store_large_object_chunk_size: CHUNK_MB }));
    const cli = ['-A', swift.authUrl, '-U', swift.user, '-K', swift.key];
    const results: Record<string, number[]> = {};
    const record = (name: string, seconds: number): void => {
      (results[name] ??= []).push(FILE_MB / seconds);
      log(`${name}: ${(FILE_MB / seconds).toFixed(1)} MiB/s (load ${loadavg()})`);
    };
    const time = async (fn: () => Promise<void>): Promise<number> => {
      const t0 = performance.now();
      await fn();
      return (performance.now() - t0) / 1000;
    };
    const download = async (location: string): Promise<void> => {
      const h = createHash('md5');
      const { stream } = await driver.read(location);
      for await (const c of stream) h.update(c as Buffer);
      if (h.digest('hex') !== want) throw new Error('download md5 mismatch');
    };

    for (let round = 1; round <= REPS; round++) {
      log(`round ${round}/${REPS}`);
      let location = '';
      record(
        'driver upload, DLO segments (size unknown)',
        await time(async () => {
          ({ location } = await driver.write(`dlo-${round}`, createReadStream(file, { highWaterMark: MIB })));
        }),
      );
      record('driver download (DLO)', await time(() => download(location)));
      await driver.delete(location);
      record(
        'driver upload, one PUT (size known)',
        await time(async () => {
          ({ location } = await driver.write(`put-${round}`, createReadStream(file, { highWaterMark: MIB }), { sizeHint: bytes }));
        }),
      );
      record('driver download (one object)', await time(() => download(location)));
      await driver.delete(location);
      record(
        'swift CLI upload, one PUT',
        await time(async () => {
          execFileSync(SWIFT_CLI, [...cli, 'upload', 'glance', file, '--object-name', `cli-${round}`], { stdio: 'ignore' });
        }),
      );
      record(
        'swift CLI download',
        await time(async () => {
          execFileSync(SWIFT_CLI, [...cli, 'download', 'glance', `cli-${round}`, '-o', join(dir, 'dl')], { stdio: 'ignore' });
        }),
      );
      spawnSync(SWIFT_CLI, [...cli, 'delete', 'glance', `cli-${round}`], { stdio: 'ignore' });
      rmSync(join(dir, 'dl'), { force: true });
    }
    if (WITH_HTTP) {
      const servers = await startServers(dir, 'swift', (name) => swiftConf(swift, name, CHUNK_MB));
      try {
        for (let round = 1; round <= REPS; round++) {
          for (const chunked of [false, true]) {
            const how = chunked ? 'chunked (DLO)' : 'Content-Length (one object)';
            for (const server of round % 2 ? servers : [...servers].reverse()) {
              const up = await upload(server, file, chunked, want);
              record(`${server.name} HTTP upload, ${how}`, up.seconds);
              record(`${server.name} HTTP download, ${how}`, await downloadHttp(up.url, bytes));
              const del = await fetch(up.url, { method: 'DELETE' });
              if (del.status !== 204) throw new Error(`${server.name}: delete answered ${del.status}`);
            }
          }
        }
      } finally {
        for (const server of servers) await server.stop();
      }
    }
    if (WITH_S3) {
      const sdk = swiftS3Client(swift);
      /** The object's size and ETag in `bucket`, or undefined when there is none. */
      const stat = async (bucket: string, key: string): Promise<{ size?: number; etag?: string } | undefined> => {
        try {
          const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          return { size: head.ContentLength, etag: head.ETag };
        } catch (error) {
          if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return undefined;
          throw error;
        }
      };
      const how = FILE_MB >= S3_LARGE_MB ? `Content-Length (multipart, ${S3_CHUNK_MB} MB × ${S3_THREADS})` : 'Content-Length (one PUT)';
      const servers = await startServers(dir, 's3', (name) => s3Conf(swift, name));
      try {
        await sdk.send(new CreateBucketCommand({ Bucket: 'sdk' }));
        for (let round = 1; round <= REPS; round++) {
          log(`S3 round ${round}/${REPS}`);
          const key = `sdk-${round}`;
          record(
            `S3 SDK upload (lib-storage, ${S3_CHUNK_MB} MB parts × ${S3_THREADS})`,
            await time(async () => {
              const body = createReadStream(file, { highWaterMark: MIB });
              await new Upload({ client: sdk, params: { Bucket: 'sdk', Key: key, Body: body }, partSize: S3_CHUNK_MB * MIB, queueSize: S3_THREADS }).done();
            }),
          );
          record(
            'S3 SDK download (GetObject)',
            await time(async () => {
              const h = createHash('md5');
              const got = await sdk.send(new GetObjectCommand({ Bucket: 'sdk', Key: key }));
              for await (const c of got.Body as AsyncIterable<Uint8Array>) h.update(c);
              if (h.digest('hex') !== want) throw new Error('S3 SDK download md5 mismatch');
            }),
          );
          const sdkObject = await stat('sdk', key);
          if (sdkObject?.etag !== wantSdkEtag) throw new Error(`S3 SDK: object ETag ${sdkObject?.etag}, expected ${wantSdkEtag}`);
          await sdk.send(new DeleteObjectCommand({ Bucket: 'sdk', Key: key }));
          for (const server of round % 2 ? servers : [...servers].reverse()) {
            const up = await upload(server, file, false, want);
            // The bucket is the server's name; both Iris and glance_store name the object by image id.
            const stored = await stat(server.name, up.id);
            if (stored?.size !== bytes || stored.etag !== wantEtag) {
              throw new Error(`${server.name}: object ${up.id} in bucket ${server.name}: ${JSON.stringify(stored)}, expected ${bytes} bytes, ETag ${wantEtag}`);
            }
            record(`${server.name} HTTP upload to s3, ${how}`, up.seconds);
            record(`${server.name} HTTP download from s3`, await downloadHttp(up.url, bytes));
            const del = await fetch(up.url, { method: 'DELETE' });
            if (del.status !== 204) throw new Error(`${server.name}: delete answered ${del.status}`);
            if ((await stat(server.name, up.id)) !== undefined) throw new Error(`${server.name}: object ${up.id} left in the bucket after delete`);
          }
        }
      } finally {
        for (const server of servers) await server.stop();
        sdk.destroy();
      }
    }
    const cpu = cpuModel();
    console.log(
      `swift driver bench: ${FILE_MB} MiB, ${REPS} rounds, segments ${CHUNK_MB} MB, s3 parts ${S3_CHUNK_MB} MB × ${S3_THREADS}; ${cpu}; load before: ${loadStart}, after: ${loadavg()}`,
    );
    console.log('| transfer | median MiB/s | runs |');
    console.log('|---|---|---|');
    for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(1)).join(', ')} |`);
  } finally {
    await swift.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
