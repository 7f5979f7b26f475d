/**
 * `node --import tsx bench/cache.ts`: downloading an image from the image cache against
 * downloading it from the filesystem store, same server, same run, rounds interleaved so both
 * see the same machine load.
 *
 * One Iris with image_cache_dir set serves two copies of the same random image: A is cached
 * (downloaded once, then the cache entry waited for), B is kept out of the cache by being read
 * only with a Range covering all its bytes (ranged reads never fill the cache) — so B is the
 * store path, with the same bytes and size. Each round downloads A whole and B with that Range
 * through `curl -o /dev/null`. Reported: median MiB/s per path and the server's CPU seconds
 * per GiB. The cache path also re-hashes (md5) what it serves, which the store path does not.
 *
 * BENCH_STORE=swift puts the images in a real Swift instead (test/helpers/swift-server.ts: one
 * node on 127.0.0.1, tempauth, Iris's swift driver), which is where the cache matters: the store
 * path then crosses Swift's proxy and object server, the cache path does not.
 *
 * Environment: BENCH_FILE_MB [1024], BENCH_REPS [3], BENCH_STORE [file|swift, file],
 * BENCH_OUT [bench/results/cache-<time>].
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireSwift, startSwift, type SwiftServer } from '../test/helpers/swift-server.js';
import { swiftStoreEnv } from '../test/helpers/swift-driver-options.js';
import { processor } from './machine.js';
import { REPO_ROOT, startIris, treeTicks } from './servers.js';

const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const STORE = process.env.BENCH_STORE ?? 'file';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench', 'results', `cache-${STAMP}`);
const MIB = 2 ** 20;

function log(message: string): void {
  process.stderr.write(`[bench:cache] ${message}\n`);
}

async function curl(args: readonly string[]): Promise<string> {
  const child = spawn('curl', ['-s', '-S', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`curl ${args.join(' ')} exited with ${code}`);
  return out;
}

async function createImage(url: string, file: string): Promise<string> {
  const created = JSON.parse(
    await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"name":"bench-cache","disk_format":"raw","container_format":"bare"}', `${url}/v2/images`]),
  ) as { id: string };
  await curl(['-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-T', file, '-o', '/dev/null', `${url}/v2/images/${created.id}/file`]);
  return created.id;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const file = join(work, 'image.raw');
  {
    const out = createWriteStream(file);
    const chunk = Buffer.alloc(MIB);
    for (let i = 0; i < FILE_MB; i++) {
      randomFillSync(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }
  if (STORE !== 'file' && STORE !== 'swift') throw new Error(`BENCH_STORE must be file or swift, not ${STORE}`);
  let swift: SwiftServer | undefined;
  if (STORE === 'swift') {
    if (!requireSwift()) throw new Error('BENCH_STORE=swift needs Debian\'s swift and memcached (see the SKIP line above)');
    swift = await startSwift();
  }
  // Iris's swift driver on the local Swift: one object per image (size known on upload).
  const storeEnv = swift === undefined ? {} : swiftStoreEnv(swift, 'bench-cache');
  const server = await startIris({
    name: 'iris-cache',
    dataDir: join(work, 'data'),
    workers: 1,
    logFile: join(OUT, 'iris.log'),
    env: {
      IRIS__DEFAULT__IMAGE_CACHE_DIR: join(work, 'cache'),
      IRIS__DEFAULT__IMAGE_CACHE_MAX_SIZE: String(4 * FILE_MB * MIB),
      IRIS__IRIS__IMAGE_CACHE_MIN_FREE_SPACE: '0',
      ...storeEnv,
    },
  }).catch(async (e: unknown) => {
    await swift?.stop();
    throw e;
  });
  try {
    const cached = await createImage(server.url, file);
    const stored = await createImage(server.url, file);
    await curl(['-o', '/dev/null', `${server.url}/v2/images/${cached}/file`]);
    for (let i = 0; ; i++) {
      const state = JSON.parse(await curl(['-H', 'X-Roles: admin', '-H', 'X-Project-Id: bench', `${server.url}/v2/cache`])) as { cached_images: { image_id: string }[] };
      if (state.cached_images.some((c) => c.image_id === cached)) break;
      if (i > 6000) throw new Error('the image never reached the cache');
      await sleep(50);
    }
    const paths = {
      cache: [`${server.url}/v2/images/${cached}/file`],
      store: ['-H', `Range: bytes=0-${FILE_MB * MIB - 1}`, `${server.url}/v2/images/${stored}/file`],
    };
    const results: Record<string, { mibps: number[]; cpuPerGib: number[] }> = { cache: { mibps: [], cpuPerGib: [] }, store: { mibps: [], cpuPerGib: [] } };
    for (let round = 0; round < REPS; round++) {
      const order = round % 2 === 0 ? (['cache', 'store'] as const) : (['store', 'cache'] as const);
      for (const path of order) {
        const before = treeTicks(server.pid);
        const out = await curl(['-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...paths[path]]);
        const ticks = treeTicks(server.pid) - before;
        const [speed, size] = out.trim().split(' ').map(Number) as [number, number];
        if (size !== FILE_MB * MIB) throw new Error(`${path}: ${size} bytes downloaded, expected ${FILE_MB * MIB}`);
        results[path]!.mibps.push(speed / MIB);
        results[path]!.cpuPerGib.push(ticks / 100 / (size / 2 ** 30));
      }
    }
    const lines = [
      `bench/cache.ts — store ${STORE}, ${FILE_MB} MiB, ${REPS} rounds, ${new Date().toISOString()}`,
      `processor: ${processor()}; load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
      '| path | median MiB/s | median server CPU s/GiB |',
      '|---|---|---|',
      ...(['cache', 'store'] as const).map((p) => `| ${p === 'store' ? `store (${STORE})` : p} | ${median(results[p]!.mibps).toFixed(0)} | ${median(results[p]!.cpuPerGib).toFixed(2)} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    await swift?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
