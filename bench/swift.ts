/**
 * `node --import tsx bench/swift.ts`: the swift driver's throughput against the store's own limit
 * on this machine, in one run on one Swift (test/helpers/swift-server.ts): the driver's upload as
 * DLO segments (body of unknown size, Glance's 200 MB segments), as one PUT (size known), its
 * download, and the swift CLI's single-PUT upload and download of the same file. Every transfer is
 * checked by md5. Rounds are interleaved so each variant sees the same machine load.
 *
 * Environment (defaults in brackets):
 *   BENCH_FILE_MB    file size, MiB                    [1024]
 *   BENCH_REPS       rounds (median)                   [2]
 *   BENCH_CHUNK_MB   swift_store_large_object_chunk_size [200]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwiftDriver } from '../src/blob/drivers/swift-driver.js';
import { swiftOptions } from '../test/helpers/swift-driver-options.js';
import { requireSwift, startSwift } from '../test/helpers/swift-server.js';

const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const CHUNK_MB = Number(process.env.BENCH_CHUNK_MB ?? 200);
const MIB = 2 ** 20;
const SWIFT_CLI = '/usr/bin/swift';

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
          ({ location } = await driver.write(`put-${round}`, createReadStream(file, { highWaterMark: MIB }), { expectedSize: bytes }));
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
    const cpu = /Model name:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim();
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
