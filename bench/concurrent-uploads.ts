/**
 * Concurrent uploads, Iris beside the real Glance in the same run (issue 22's "ten concurrent
 * 1 GiB uploads: aggregate ≥ Glance's with ten, peak RSS < 256 MB"): each server, one API
 * process and one filesystem store, takes `clients` curl uploads of the same random file at
 * once; the summed RSS of its process tree is sampled meanwhile (bench/peak-rss.ts). Rounds
 * alternate the servers. Prints a Markdown section for bench/RESULTS.md with the processor and
 * the load average.
 *
 *   node --import tsx bench/concurrent-uploads.ts
 *   BENCH_RSS_CLIENTS=10 BENCH_RSS_MB=1024 BENCH_RSS_ROUNDS=2 node --import tsx bench/concurrent-uploads.ts
 *   BENCH_PEER=0 ...   # Iris only (no ../shared/peer-glance)
 */
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuModel } from './machine.js';
import { measurePeakRss, type PeakRssResult } from './peak-rss.js';
import { PEER_DIR, startIris, startPeer, type Server } from './servers.js';

const CLIENTS = Number(process.env.BENCH_RSS_CLIENTS ?? 10);
const FILE_MB = Number(process.env.BENCH_RSS_MB ?? 1024);
const ROUNDS = Number(process.env.BENCH_RSS_ROUNDS ?? 1);
const WITH_PEER = process.env.BENCH_PEER !== '0' && existsSync(join(PEER_DIR, 'start.sh'));
const MIB = 1024 * 1024;

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

const scratch = mkdtempSync(join(tmpdir(), 'iris-concurrent-'));
const file = join(scratch, 'upload.bin');
{
  const fd = openSync(file, 'w');
  const block = Buffer.allocUnsafe(4 * MIB);
  for (let done = 0; done < FILE_MB * MIB; done += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, FILE_MB * MIB - done));
  closeSync(fd);
}

const servers: { name: string; start: (round: number) => Promise<Server> }[] = [
  {
    name: 'Iris',
    start: (round) => startIris({ name: `iris-rss-${round}`, dataDir: join(scratch, `iris-${round}`), workers: 1, logFile: join(scratch, 'iris.log') }),
  },
];
if (WITH_PEER) {
  servers.push({ name: 'Glance 25.1.0', start: (round) => startPeer({ stateDir: join(scratch, `peer-${round}`), logFile: join(scratch, 'peer.log') }) });
} else {
  console.error('[bench:concurrent] the real Glance left out (BENCH_PEER=0 or no ../shared/peer-glance)');
}

const loadBefore = loadavg();
const results = new Map<string, PeakRssResult[]>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which server goes first, so a slow patch of the machine hits both alike.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      const server = await s.start(round);
      try {
        console.error(`[bench:concurrent] ${s.name}: ${CLIENTS} x ${FILE_MB} MiB, round ${round + 1}`);
        const r = await measurePeakRss(server, file, FILE_MB * MIB, CLIENTS);
        results.set(s.name, [...(results.get(s.name) ?? []), r]);
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const lines = [
  `## ${CLIENTS} concurrent uploads of ${FILE_MB} MiB (bench/concurrent-uploads.ts)`,
  '',
  `${cpuModel()}; load average ${loadBefore} before, ${loadavg()} after; one API process each, median of ${ROUNDS} round(s).`,
  '',
  '| server | idle RSS MiB | peak RSS MiB | aggregate MiB/s | failed uploads |',
  '|---|---|---|---|---|',
];
for (const [name, rs] of results) {
  lines.push(
    `| ${name} | ${median(rs.map((r) => r.idleMiB)).toFixed(0)} | ${median(rs.map((r) => r.peakMiB)).toFixed(0)} | ${median(rs.map((r) => r.aggregateMiBps)).toFixed(1)} | ${rs.reduce((n, r) => n + r.failures, 0)} |`,
  );
}
const iris = results.get('Iris');
const glance = results.get('Glance 25.1.0');
if (iris && glance) {
  lines.push('', `Aggregate Iris / Glance: ${(median(iris.map((r) => r.aggregateMiBps)) / median(glance.map((r) => r.aggregateMiBps))).toFixed(2)}×.`);
}
console.log(lines.join('\n'));
