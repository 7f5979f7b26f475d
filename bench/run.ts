/**
 * `npm run bench`: Iris and the peer Glance side by side on this machine, in one run, next to
 * the machine's own limits measured in the same run.
 *
 * The measuring is `peer-glance/bench.sh` (machine limits, 1 GiB upload/download with curl,
 * wrk on list/show/create); this script starts the servers in the same configuration, seeds
 * their databases, runs bench.sh against each, measures Iris's memory under 10 concurrent
 * uploads, and prints one table of ratios. Raw outputs and every bench.sh summary.md go to the
 * results directory.
 *
 * Environment (defaults in brackets):
 *   BENCH_FILE_MB      upload/download file size, MiB                             [1024]
 *   BENCH_REPS         upload/download repetitions (median)                        [3]
 *   BENCH_DURATION     seconds per wrk run                                         [10]
 *   BENCH_WRK_REPS     wrk runs per cell (median)                  [3, or 1 when BENCH_DURATION < 10]
 *   BENCH_CONNS        wrk connection counts                                       ["2 16"]
 *   BENCH_THREADS      wrk threads                                                 [2]
 *   BENCH_IMAGES       images present for the metadata cells                       [1000]
 *   BENCH_BIG_IMAGES   images for the large-list cells, Iris only; 0 skips them
 *                                                       [100000, or 20000 when BENCH_DURATION < 10]
 *   BENCH_RSS_CLIENTS  concurrent uploads for the memory figure; 0 skips it        [10]
 *   BENCH_CPU_MB       file size for CPU s/GiB by thread (bench/cpu-per-gib.ts); 0 skips it
 *                                                                 [min(BENCH_FILE_MB, 512)]
 *   BENCH_PEER         0 skips the peer Glance                                     [1]
 *   BENCH_OUT          results directory                              [bench/results/<UTC time>]
 *
 * Quick run: `BENCH_FILE_MB=64 BENCH_DURATION=3 npm run bench` (about 4 minutes on the shared 2-core
 * VM; most of it is bench.sh's fixed pauses and its paging through every image to count them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { RAW, REQUESTS, rawLimit, readBenchSummary } from './bench-summary.js';
import type { BenchSummary, WrkCell } from './bench-summary.js';
import { cpuReport, runCpuBench } from './cpu-per-gib.js';
import { measurePeakRss } from './peak-rss.js';
import type { PeakRssResult } from './peak-rss.js';
import { seedIrisImages, seedPeerImages } from './seed-images.js';
import { PEER_DIR, REPO_ROOT, irisSqlitePath, peerSqlitePath, startIris, startPeer } from './servers.js';
import type { Server } from './servers.js';

function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${JSON.stringify(value)}`);
  return n;
}

const FILE_MB = envNumber('BENCH_FILE_MB', 1024);
const REPS = envNumber('BENCH_REPS', 3);
const DURATION = envNumber('BENCH_DURATION', 10);
// Short runs are for a quick look: one wrk run per cell keeps them to a couple of minutes.
const WRK_REPS = envNumber('BENCH_WRK_REPS', DURATION >= 10 ? 3 : 1);
const CONNS = process.env.BENCH_CONNS ?? '2 16';
const THREADS = envNumber('BENCH_THREADS', 2);
const IMAGES = envNumber('BENCH_IMAGES', 1000);
// bench.sh counts the images by paging through all of them first, about a minute per 100,000.
const BIG_IMAGES = envNumber('BENCH_BIG_IMAGES', DURATION >= 10 ? 100_000 : 20_000);
const RSS_CLIENTS = envNumber('BENCH_RSS_CLIENTS', 10);
const CPU_MB = envNumber('BENCH_CPU_MB', Math.min(FILE_MB, 512));
const WITH_PEER = process.env.BENCH_PEER !== '0';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench', 'results', STAMP);
const CONN_LIST = CONNS.split(/\s+/).filter(Boolean).map(Number);

const running = new Set<Server>();
/** Random file, data directories and the peer's state: one private temp directory. */
let scratch: string | undefined;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** wrk is a Debian package; install it when we can, otherwise say how. */
function ensureTools(): void {
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  if (!has('wrk')) {
    log('wrk is not installed: installing the Debian package (apt-get install -y wrk)');
    const apt = spawnSync('sh', ['-c', 'apt-get install -y wrk || (apt-get update && apt-get install -y wrk)'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (apt.status !== 0 || !has('wrk')) {
      throw new Error('wrk is needed for the metadata benchmarks: install it with `apt-get install wrk` (as root)');
    }
  }
  for (const tool of ['curl', 'openssl', 'python3', 'ss']) {
    if (!has(tool)) throw new Error(`${tool} is needed by peer-glance/bench.sh; install it first`);
  }
}

/** Runs bench.sh against `server` for `parts`, writing into `dir`; returns its summary. */
async function benchSh(server: Server, dir: string, parts: string, images: number, tmp: string): Promise<BenchSummary> {
  log(`${server.name}: bench.sh ${parts} -> ${dir}`);
  const child = spawn('bash', [join(PEER_DIR, 'bench.sh'), server.url, dir], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      BENCH_FILE_MB: String(FILE_MB),
      BENCH_REPS: String(REPS),
      BENCH_IMAGES: String(images),
      BENCH_DURATION: String(DURATION),
      BENCH_CONNS: CONNS,
      BENCH_THREADS: String(THREADS),
      BENCH_WRK_REPS: String(WRK_REPS),
      BENCH_PARTS: parts,
      // Every server runs on a fresh data directory that is thrown away afterwards; deleting
      // tens of thousands of created images one curl at a time would only cost minutes.
      BENCH_CLEANUP: '0',
      BENCH_TMP: tmp,
    },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`bench.sh ${parts} against ${server.name} failed (exit ${code})`);
  return readBenchSummary(join(dir, 'summary.md'));
}

async function withIris<T>(
  name: string,
  workers: number,
  seed: number,
  tmp: string,
  body: (server: Server) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmp, `${name}-`));
  if (seed > 0) {
    const started = performance.now();
    await seedIrisImages(irisSqlitePath(dataDir), seed);
    log(`${name}: seeded ${seed} images in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  }
  const server = await startIris({ name, dataDir, workers, logFile: join(OUT, `${name}.log`) });
  running.add(server);
  try {
    return await body(server);
  } finally {
    await server.stop();
    running.delete(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function withPeer<T>(tmp: string, body: (server: Server) => Promise<T>): Promise<T> {
  const stateDir = join(tmp, 'peer-glance-bench');
  log('peer: starting Glance with peer-glance/start.sh');
  const server = await startPeer({ stateDir, logFile: join(OUT, 'peer-start.log') });
  running.add(server);
  try {
    seedPeerImages(peerSqlitePath(stateDir), IMAGES);
    log(`peer: seeded ${IMAGES} images`);
    return await body(server);
  } finally {
    await server.stop();
    running.delete(server);
  }
}

// ------------------------------------------------------------------ report --

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0 ? undefined : a / b;
const verdict = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? '**met**' : 'not met');

interface Results {
  machine: BenchSummary;
  iris: BenchSummary;
  irisW2?: BenchSummary;
  peer?: BenchSummary;
  irisBig?: BenchSummary;
  rss?: PeakRssResult;
}

function report(r: Results, header: string[]): string {
  const lines = [...header, ''];
  const dd = rawLimit(r.machine, RAW.ddFsync);
  const sendfile = rawLimit(r.machine, RAW.sendfile);
  lines.push(`## Image data (${FILE_MB} MiB, curl, median of ${REPS}, MiB/s)`, '');
  lines.push('| direction | Iris | peer | machine limit | Iris/peer | Iris/machine | target | |');
  lines.push('|---|---|---|---|---|---|---|---|');
  const up = r.iris.uploadMiBps;
  const down = r.iris.downloadMiBps;
  const upRatio = ratio(up, dd);
  const downRatio = ratio(down, sendfile);
  lines.push(
    `| upload | ${fmt(up, 1)} | ${fmt(r.peer?.uploadMiBps, 1)} | ${fmt(dd)} (dd conv=fsync) | ${fmt(ratio(up, r.peer?.uploadMiBps), 2)} | ${fmt(upRatio, 2)} | ≥ 0.90 of dd | ${verdict(upRatio === undefined ? undefined : upRatio >= 0.9)} |`,
  );
  lines.push(
    `| download | ${fmt(down, 1)} | ${fmt(r.peer?.downloadMiBps, 1)} | ${fmt(sendfile)} (loopback sendfile) | ${fmt(ratio(down, r.peer?.downloadMiBps), 2)} | ${fmt(downRatio, 2)} | ≥ 0.90 of sendfile | ${verdict(downRatio === undefined ? undefined : downRatio >= 0.9)} |`,
  );
  const hash = rawLimit(r.machine, RAW.hashOnePass);
  const sha = rawLimit(r.machine, RAW.sha512);
  lines.push('', `Other limits this run: md5+sha512 in one pass ${fmt(hash)} MiB/s, \`openssl dgst -sha512\` ${fmt(sha)} MiB/s, loopback \`curl -T\` ${fmt(rawLimit(r.machine, RAW.curlUpload))} MiB/s.`, '');

  lines.push(`## Metadata (wrk -t${THREADS}, ${DURATION}s x ${WRK_REPS}, ${r.iris.images ?? IMAGES} images; req/s, p50/p99 ms)`, '');
  lines.push('| request | conns | Iris w=1 req/s | p50 / p99 | Iris w=2 req/s | p50 / p99 | peer req/s | p50 / p99 | w=1 / peer | w=2 / peer | target (16 conns: ≥ 10× peer, p99 < 10 ms) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  const cellText = (c: WrkCell | undefined) => (c ? `${fmt(c.p50, 2)} / ${fmt(c.p99, 2)}` : '–');
  const bad: string[] = [];
  for (const [short, request] of Object.entries(REQUESTS)) {
    for (const conns of CONN_LIST) {
      const key = `${request} c${conns}`;
      const one = r.iris.wrk.get(key);
      const two = r.irisW2?.wrk.get(key);
      const peer = r.peer?.wrk.get(key);
      for (const [who, c] of [['Iris w=1', one], ['Iris w=2', two], ['peer', peer]] as const) {
        if (c && (c.non2xx > 0 || c.errors > 0)) bad.push(`${who} ${short} c${conns}: ${c.non2xx} non-2xx, ${c.errors} socket errors`);
      }
      let target = '';
      if (conns === 16) {
        const best = [one, two].filter((c): c is WrkCell => c !== undefined);
        const met = best.some((c) => (ratio(c.rps, peer?.rps) ?? 0) >= 10 && c.p99 < 10);
        target = peer ? verdict(met) : '–';
      }
      lines.push(
        `| ${short} | ${conns} | ${fmt(one?.rps)} | ${cellText(one)} | ${fmt(two?.rps)} | ${cellText(two)} | ${fmt(peer?.rps, 1)} | ${cellText(peer)} | ${fmt(ratio(one?.rps, peer?.rps), 1)} | ${fmt(ratio(two?.rps, peer?.rps), 1)} | ${target} |`,
      );
    }
  }
  if (bad.length > 0) lines.push('', `Errors: ${bad.join('; ')}.`);
  lines.push('');

  if (r.irisBig) {
    lines.push(`## List at ${r.irisBig.images ?? BIG_IMAGES} images (Iris w=1 only; the peer is not seeded this large)`, '');
    lines.push(`| request | conns | req/s at ${r.iris.images ?? IMAGES} | req/s at ${r.irisBig.images ?? BIG_IMAGES} | p99 ms at ${r.iris.images ?? IMAGES} | p99 ms at ${r.irisBig.images ?? BIG_IMAGES} | slowdown (req/s) | target (within 2×) |`);
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const [short, request] of Object.entries(REQUESTS)) {
      for (const conns of CONN_LIST) {
        const small = r.iris.wrk.get(`${request} c${conns}`);
        const big = r.irisBig.wrk.get(`${request} c${conns}`);
        const slowdown = ratio(small?.rps, big?.rps);
        lines.push(
          `| ${short} | ${conns} | ${fmt(small?.rps)} | ${fmt(big?.rps)} | ${fmt(small?.p99, 2)} | ${fmt(big?.p99, 2)} | ${fmt(slowdown, 2)}× | ${short === 'list' ? verdict(slowdown === undefined ? undefined : slowdown <= 2) : ''} |`,
        );
      }
    }
    lines.push('');
  }

  if (r.rss) {
    const x = r.rss;
    lines.push(`## Memory: ${x.clients} concurrent uploads of ${FILE_MB} MiB (Iris w=1)`, '');
    lines.push('| idle RSS MiB | peak RSS MiB (summed over the process tree) | aggregate MiB/s | seconds | failed uploads | target (< 256 MiB) |');
    lines.push('|---|---|---|---|---|---|');
    lines.push(`| ${fmt(x.idleMiB)} | ${fmt(x.peakMiB)} | ${fmt(x.aggregateMiBps, 1)} | ${fmt(x.seconds, 1)} | ${x.failures} | ${verdict(x.peakMiB < 256)} |`);
    if (x.failures > 0) lines.push('', `Upload outcomes (HTTP code/image status): ${x.outcomes.join(', ')}.`);
    lines.push('');
  }
  return lines.join('\n');
}

// -------------------------------------------------------------------- main --

async function main(): Promise<void> {
  ensureTools();
  mkdirSync(OUT, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'iris-bench-'));
  scratch = tmp;
  const header = [
    `# Iris vs peer Glance: ${STAMP}`,
    '',
    `- machine: ${hostname()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `- load average before: ${loadavg()}`,
    `- settings: file ${FILE_MB} MiB x ${REPS}, wrk ${DURATION}s x ${WRK_REPS} at [${CONNS}] with ${THREADS} threads, ${IMAGES} images, large list ${BIG_IMAGES || 'skipped'}, ${RSS_CLIENTS || 'no'} concurrent uploads for memory, peer ${WITH_PEER ? 'on' : 'skipped'}`,
    `- raw outputs: ${OUT}`,
  ];
  log(`results: ${OUT}`);
  try {
    const results = await withIris('iris-w1', 1, IMAGES, tmp, async (iris) => {
      const machine = await benchSh(iris, join(OUT, 'machine'), 'raw', IMAGES, tmp);
      const summary = await benchSh(iris, join(OUT, 'iris-w1'), 'data meta', IMAGES, tmp);
      return { machine, iris: summary } as Results;
    });
    if (WITH_PEER) {
      results.peer = await withPeer(tmp, (peer) => benchSh(peer, join(OUT, 'peer'), 'data meta', IMAGES, tmp));
    }
    results.irisW2 = await withIris('iris-w2', 2, IMAGES, tmp, (iris) =>
      benchSh(iris, join(OUT, 'iris-w2'), 'meta', IMAGES, tmp),
    );
    if (BIG_IMAGES > 0) {
      results.irisBig = await withIris('iris-w1-big', 1, BIG_IMAGES, tmp, (iris) =>
        benchSh(iris, join(OUT, 'iris-w1-big'), 'meta', BIG_IMAGES, tmp),
      );
    }
    if (RSS_CLIENTS > 0) {
      results.rss = await withIris('iris-w1-rss', 1, 0, tmp, (iris) => {
        log(`iris-w1-rss: ${RSS_CLIENTS} concurrent uploads of ${FILE_MB} MiB`);
        return measurePeakRss(iris, join(tmp, `glance-bench-${FILE_MB}m.bin`), FILE_MB * 2 ** 20, RSS_CLIENTS);
      });
    }
    let cpuSection = '';
    if (CPU_MB > 0) {
      log(`cpu: CPU seconds per GiB by thread, ${CPU_MB} MiB x ${REPS}`);
      const cpu = await runCpuBench({ fileMiB: CPU_MB, reps: REPS, withPeer: WITH_PEER, noFlush: true, out: join(OUT, 'cpu') });
      cpuSection = `\n${cpuReport(cpu)}\n`;
    }
    header.push(`- load average after: ${loadavg()}`);
    const text = report(results, header) + cpuSection;
    writeFileSync(join(OUT, 'summary.md'), `${text}\n`);
    process.stdout.write(`\n${text}\n`);
    log(`summary: ${join(OUT, 'summary.md')}`);
  } finally {
    for (const server of running) await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping servers`);
    void Promise.all([...running].map((s) => s.stop())).finally(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
