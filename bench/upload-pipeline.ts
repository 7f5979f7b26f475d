/**
 * CPU seconds per GiB of Iris's upload pipeline alone, in this process, by thread: the hashing
 * stream (src/blob/hashing-stream.ts) on the hashing threads, then the filesystem driver's
 * durable write, fed by a source that hands out a fresh 64 KiB Buffer per chunk, as Node's HTTP
 * parser does for a request body. No HTTP and no client, so it is far less noisy than
 * bench/cpu-per-gib.ts on a shared machine, and it compares options of the pipeline side by
 * side in one run (rounds interleaved). It leaves out the socket reads (see the loopback rows of
 * cpu-per-gib.ts for those).
 *
 * `node --import tsx bench/upload-pipeline.ts`. Environment: BENCH_PIPE_MB [256],
 * BENCH_PIPE_REPS [3] (median), BENCH_PIPE_VARIANTS [all] (comma-separated names below),
 * BENCH_PIPE_BEFORE [none] (another checkout: adds a variant with that checkout's pool and driver),
 * BENCH_PIPE_OTHER [none] (`label=/path`: a variant with that checkout's driver and this pool).
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createFilesystemDriver } from '../src/blob/drivers/filesystem-driver.js';
import { createHashWorkerPool } from '../src/blob/hash-workers.js';
import type { HashWorkerPool } from '../src/blob/hash-workers.js';
import { HashingStream, createDigester } from '../src/blob/hashing-stream.js';
import { ThreadClassifier, cpuBetween, snapshot, type CpuByGroup } from './thread-cpu.js';
import { processor } from './machine.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
/** An HTTP body chunk: what Node's parser hands out per socket read. */
const BODY_CHUNK = 64 * 1024;

interface Variant {
  readonly name: string;
  readonly threadsPerJob: number;
  readonly slotBytes: number;
  readonly slots: number;
  /** The driver's writev batch. */
  readonly batchBytes: number;
  /** Another checkout whose hashing pool to use (a before/after in one process). */
  readonly poolFrom?: string;
  /** Another checkout whose filesystem driver to use. */
  readonly driverFrom?: string;
}

const VARIANTS: readonly Variant[] = [
  { name: 'default', threadsPerJob: availableParallelism() > 2 ? 2 : 1, slotBytes: 256 * 1024, slots: 8, batchBytes: MIB },
  { name: '1-thread', threadsPerJob: 1, slotBytes: 256 * 1024, slots: 8, batchBytes: MIB },
  { name: '2-threads', threadsPerJob: 2, slotBytes: 256 * 1024, slots: 8, batchBytes: MIB },
  { name: '1-thread-1MiB-slots', threadsPerJob: 1, slotBytes: MIB, slots: 4, batchBytes: MIB },
  { name: '1-thread-4MiB-writes', threadsPerJob: 1, slotBytes: 256 * 1024, slots: 8, batchBytes: 4 * MIB },
];

/** A body of `bytes` in fresh 64 KiB Buffers copied from `data`, like an HTTP request's. */
function body(data: Buffer, bytes: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: BODY_CHUNK,
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const n = Math.min(BODY_CHUNK, bytes - sent);
      const at = sent % (data.length - n);
      // Not zero-filled, as the parser's copies are not.
      const chunk = Buffer.allocUnsafe(n);
      data.copy(chunk, 0, at, at + n);
      this.push(chunk);
      sent += n;
    },
  });
}

type CreateDriver = typeof createFilesystemDriver;
const drivers = new Map<string, CreateDriver>();

async function once(v: Variant, pool: HashWorkerPool, data: Buffer, bytes: number, dir: string, key: string): Promise<void> {
  let create = createFilesystemDriver;
  if (v.driverFrom) {
    create = drivers.get(v.driverFrom) ?? ((await import(join(v.driverFrom, 'src/blob/drivers/filesystem-driver.ts'))) as { createFilesystemDriver: CreateDriver }).createFilesystemDriver;
    drivers.set(v.driverFrom, create);
  }
  const driver = create({ dir, chunkSize: v.batchBytes });
  const digester = createDigester('sha512', { pool, ring: { slotBytes: v.slotBytes, slots: v.slots } });
  const hasher = new HashingStream({ hashAlgo: 'sha512', sizeCap: Number.MAX_SAFE_INTEGER, expectedSize: bytes }, digester);
  const source = body(data, bytes);
  const feeding = pipeline(source, hasher);
  const written = await driver.write(key, hasher);
  await feeding;
  if (written.bytes !== bytes || hasher.result.size !== bytes) throw new Error(`${v.name}: wrote ${written.bytes} of ${bytes}`);
  await driver.delete(written.location);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runUploadPipelineBench(opts: { mib: number; reps: number; variants: readonly Variant[] }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-pipe-bench-'));
  const bytes = opts.mib * MIB;
  const data = randomFillSync(Buffer.allocUnsafe(16 * MIB));
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  const pools = new Map<string, HashWorkerPool>();
  for (const v of opts.variants) {
    const create = v.poolFrom
      ? ((await import(join(v.poolFrom, 'src/blob/hash-workers.ts'))) as { createHashWorkerPool: typeof createHashWorkerPool }).createHashWorkerPool
      : createHashWorkerPool;
    pools.set(v.name, create({ threadsPerJob: v.threadsPerJob }));
  }
  const rounds = new Map<string, CpuByGroup[]>(opts.variants.map((v) => [v.name, []]));
  const classifier = new ThreadClassifier(process.pid, 'node');
  try {
    classifier.classify();
    // Warm-up: starts every pool's threads and libuv's pool, compiles the hot paths.
    for (const v of opts.variants) await once(v, pools.get(v.name)!, data, 8 * MIB, dir, 'warm');
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const v of opts.variants) {
        classifier.classify();
        const before = snapshot(process.pid);
        await once(v, pools.get(v.name)!, data, bytes, dir, 'blob');
        rounds.get(v.name)!.push(cpuBetween(before, snapshot(process.pid), classifier));
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  const perGiB = (x: number) => (x * GIB) / bytes;
  const groups = ['event loop', 'hash/transfer threads', 'libuv pool', 'V8 platform (GC)'];
  const lines = [
    `## Upload pipeline alone (bench/upload-pipeline.ts, ${opts.mib} MiB, median of ${opts.reps})`,
    '',
    `- processor: ${processor()}; load average before ${loadBefore}, after ${load()}`,
    '- CPU s/GiB by thread group (user + sys); no HTTP, no client: body chunks of 64 KiB made in process.',
    '',
    `| variant | total | ${groups.join(' | ')} |`,
    `|---|---|${groups.map(() => '---').join('|')}|`,
  ];
  for (const v of opts.variants) {
    const rs = rounds.get(v.name)!;
    const cell = (g: string) => median(rs.map((r) => perGiB((r.groups.get(g)?.user ?? 0) + (r.groups.get(g)?.sys ?? 0)))).toFixed(2);
    lines.push(`| ${v.name} | ${median(rs.map((r) => perGiB(r.total))).toFixed(2)} | ${groups.map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.env.BENCH_PIPE_VARIANTS?.split(',');
  const before = process.env.BENCH_PIPE_BEFORE;
  const all = before
    ? [{ name: 'before', threadsPerJob: 2, slotBytes: 256 * 1024, slots: 8, batchBytes: MIB, poolFrom: before, driverFrom: before }, ...VARIANTS]
    : [...VARIANTS];
  const other = process.env.BENCH_PIPE_OTHER?.split('=');
  if (other?.length === 2) all.push({ ...VARIANTS[0]!, name: other[0]!, driverFrom: other[1]! });
  const variants = wanted ? all.filter((v) => wanted.includes(v.name)) : all;
  const report = await runUploadPipelineBench({
    mib: Number(process.env.BENCH_PIPE_MB ?? 256),
    reps: Number(process.env.BENCH_PIPE_REPS ?? 3),
    variants,
  });
  process.stdout.write(`${report}\n`);
}
