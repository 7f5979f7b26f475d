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
 * Environment (defaults in brackets):
 *   BENCH_FILE_MB    file size, MiB                    [1024]
 *   BENCH_REPS       rounds (median)                   [2]
 *   BENCH_CHUNK_MB   swift_store_large_object_chunk_size [200]
 *   BENCH_HTTP       0 skips the HTTP part (Iris and the peer Glance) [1]
 *   BENCH_PEER       0 skips the peer Glance             [1]
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwiftDriver } from '../src/blob/drivers/swift-driver.js';
import { swiftOptions } from '../test/helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../test/helpers/swift-server.js';
import { cpuModel } from './machine.js';
import { startIris, startPeer, type Server } from './servers.js';

const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const CHUNK_MB = Number(process.env.BENCH_CHUNK_MB ?? 200);
const MIB = 2 ** 20;
const SWIFT_CLI = '/usr/bin/swift';
const WITH_HTTP = process.env.BENCH_HTTP !== '0';
const WITH_PEER = process.env.BENCH_PEER !== '0';
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

/** Uploads `file` as a new image (chunked or with Content-Length); returns the download URL. */
async function upload(server: Server, file: string, chunked: boolean, want: string): Promise<{ url: string; seconds: number }> {
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
  return { url: `${server.url}/v2/images/${id}`, seconds: Number(seconds) };
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
  const dir = mkdtempSync(join(tmpdir(), 'iris-bench-swift-'));
  const swift = await startSwift();
  try {
    const file = join(dir, 'image.raw');
    const block = Buffer.alloc(MIB);
    const md5 = createHash('md5');
    writeFileSync(file, '');
    for (let i = 0; i < FILE_MB; i++) {
      randomFillSync(block);
      md5.update(block);
      writeFileSync(file, block, { flag: 'a' });
    }
    const want = md5.digest('hex');
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
      const servers: Server[] = [];
      try {
        const irisEnv = Object.fromEntries(Object.entries(swiftConf(swift, 'iris', CHUNK_MB)).map(([k, v]) => [`IRIS__GLANCE_STORE__${k.toUpperCase()}`, v]));
        servers.push(await startIris({ name: 'iris', dataDir: join(dir, 'iris'), workers: 1, logFile: join(dir, 'iris.log'), env: irisEnv }));
        if (WITH_PEER) {
          const extra = join(dir, 'peer-extra.conf');
          writeFileSync(extra, `[glance_store]\n${Object.entries(swiftConf(swift, 'peer', CHUNK_MB)).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
          servers.push(await startPeer({ stateDir: join(dir, 'peer'), logFile: join(dir, 'peer.log'), settings: { PEER_GLANCE_EXTRA_CONF: extra } }));
        }
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
    const cpu = cpuModel();
    console.log(`swift driver bench: ${FILE_MB} MiB, ${REPS} rounds, segments ${CHUNK_MB} MB; ${cpu}; load after: ${loadavg()}`);
    console.log('| transfer | median MiB/s | runs |');
    console.log('|---|---|---|');
    for (const [name, xs] of Object.entries(results)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(1)).join(', ')} |`);
  } finally {
    await swift.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
