/**
 * CPU seconds per GiB by thread, Iris and the peer Glance in one run, beside the machine's own
 * limits measured in the same run. Wall-clock MiB/s is printed too, but on a shared machine the
 * CPU seconds are the steadier figure (a loaded core slows the clock, not the work).
 *
 * Steps per server and round: upload (PUT /file), stage (PUT /stage), glance-direct import
 * (POST /import until active), download (GET /file to /dev/null), all with curl. Iris runs twice:
 * durable (as shipped), with its fsyncs turned off (bench/no-flush.ts), to show what
 * durability costs (its transfer threads still start the writeback as they write), and with
 * `[iris] direct_transfers = false`, to show what the transfer threads save. Both servers use two filesystem stores and glance-direct, one worker.
 *
 * `node --import tsx bench/cpu-per-gib.ts`; also part of `npm run bench` (BENCH_CPU=0 skips it).
 * Environment: BENCH_CPU_MB [512], BENCH_CPU_REPS [2] (median), BENCH_PEER [1], BENCH_CPU_NOFLUSH [1], BENCH_CPU_STREAMS [1],
 * BENCH_OUT [bench/results/cpu-<UTC time>], BENCH_IRIS_ROOT [this checkout] (e.g. a `git archive` of an
 * older commit with node_modules linked in), BENCH_IRIS_OTHERS [none] (`before=/tmp/x;slots=/tmp/y`: such
 * checkouts measured beside this one, same run), BENCH_CPU_STEPS [upload,download,stage,import],
 * BENCH_CPU_ORDER [upload-first | stage-first | alternate], BENCH_CPU_CHUNKED [0] (1: bodies sent chunked, as glanceclient sends them).
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, startIris, startPeer, type Server } from './servers.js';
import { ThreadClassifier, cpuBetween, snapshot, type CpuByGroup } from './thread-cpu.js';
import { loopbackServer, processor } from './machine.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
const ADMIN = { 'X-Project-Id': 'bench0000000000000000000000000001', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'bench' };
const HEADER_ARGS = Object.entries(ADMIN).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
/** Another checkout of Iris to measure instead of this one (a before/after); its node_modules must resolve. */
const IRIS_ROOT = process.env.BENCH_IRIS_ROOT || undefined;
/**
 * Other checkouts measured beside this one (same run, same load): `label=/path;label=/path`; a
 * path may be followed by `|node flags` for that server alone, and may be empty (this checkout).
 */
const OTHER_ROOTS = (process.env.BENCH_IRIS_OTHERS ?? '')
  .split(';')
  .filter(Boolean)
  .map((pair) => {
    const eq = pair.indexOf('=');
    const rest = pair.slice(eq + 1);
    const bar = rest.includes('|') ? rest.indexOf('|') : rest.length;
    return [pair.slice(0, eq), rest.slice(0, bar) || REPO_ROOT, rest.slice(bar + 1).split(' ').filter(Boolean)] as const;
  });
/** Steps to run, of upload, download, stage, import. */
const STEPS = new Set((process.env.BENCH_CPU_STEPS ?? 'upload,download,stage,import').split(','));
/**
 * Step order in a round: upload + download then stage + import (default), the other way round,
 * or alternating by round (steps measured stage-first are reported under their own names).
 */
const ORDER = process.env.BENCH_CPU_ORDER ?? 'upload-first';
const log = (m: string) => process.stderr.write(`[bench:cpu] ${m}\n`);

export interface StepFigure {
  readonly mibps: number;
  readonly cpu: CpuByGroup;
  readonly bytes: number;
  /** Busy CPU seconds of the whole machine during the step (/proc/stat): every process and kernel thread. */
  readonly machineCpu: number;
}

/**
 * Busy CPU seconds of the whole machine so far (/proc/stat's first line: user, nice, system,
 * irq, softirq, steal). A server that never fsyncs leaves its writeback to the kernel's flusher
 * threads, which its own thread times do not show; the machine's figure counts them (and the
 * client, and anything else running: it is meaningful on a quiet machine only).
 */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** step -> figures of each round */
export type ServerFigures = Map<string, StepFigure[]>;

export interface CpuBenchResult {
  readonly fileMiB: number;
  readonly reps: number;
  limits: { name: string; mibps: number; cpuPerGiB: number }[];
  readonly servers: Map<string, ServerFigures>;
  readonly machine: string;
  readonly loadBefore: string;
  loadAfter: string;
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function run(cmd: string, args: string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
  return out;
}

async function call(method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(url, {
    method,
    headers: { ...ADMIN, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * BENCH_CPU_CHUNKED=1: uploads and stages are sent chunked, without a Content-Length, as
 * python-glanceclient (and Nova's snapshots through it) sends them.
 */
const CHUNKED = process.env.BENCH_CPU_CHUNKED === '1' ? ['-H', 'Transfer-Encoding: chunked'] : [];

async function curlPut(url: string, file: string): Promise<void> {
  const code = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...HEADER_ARGS, ...CHUNKED, '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '-T', file, url]);
  if (!code.startsWith('2')) throw new Error(`PUT ${url}: HTTP ${code}`);
}

async function curlGet(url: string): Promise<number> {
  const out = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...HEADER_ARGS, url]);
  const [code, size] = out.split(' ');
  if (code !== '200') throw new Error(`GET ${url}: HTTP ${code}`);
  return Number(size);
}

/** Runs `body` and returns its MiB/s (for `bytes`) and the server's CPU by thread group meanwhile. */
async function measured(server: Server, classifier: ThreadClassifier, bytes: number, body: () => Promise<void>): Promise<StepFigure> {
  classifier.classify();
  // Each step starts with nothing dirty in the page cache: a server that does not fsync leaves
  // its writeback behind, which would otherwise land in (and slow) the next server's step.
  execFileSync('sync');
  const before = snapshot(server.pid);
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  await body();
  const seconds = (performance.now() - started) / 1000;
  const after = snapshot(server.pid);
  // The machine's figure includes writing back what the step left dirty (not in MiB/s).
  execFileSync('sync');
  const machineCpu = machineBusySeconds() - machineBefore;
  // Threads started during the step (a hashing thread's first job) are told apart now, idle.
  classifier.classify();
  return { mibps: bytes / MIB / seconds, cpu: cpuBetween(before, after, classifier), bytes, machineCpu };
}

async function serverRound(server: Server, classifier: ThreadClassifier, file: string, bytes: number, figures: ServerFigures, rep: number): Promise<void> {
  const add = (step: string, f: StepFigure) => figures.set(step, [...(figures.get(step) ?? []), f]);
  const base = server.url;
  const up = (await call('POST', `${base}/v2/images`, { name: 'cpu-up', disk_format: 'raw', container_format: 'bare' })).id as string;
  const staged = (await call('POST', `${base}/v2/images`, { name: 'cpu-stage', disk_format: 'raw', container_format: 'bare' })).id as string;
  const stageFirst = ORDER === 'stage-first' || (ORDER === 'alternate' && rep % 2 === 1);
  const upload = async () => {
    if (STEPS.has('upload')) add(stageFirst ? 'upload (after stage + import)' : 'upload', await measured(server, classifier, bytes, () => curlPut(`${base}/v2/images/${up}/file`, file)));
    if (STEPS.has('download')) add(stageFirst ? 'download (after stage + import)' : 'download', await measured(server, classifier, bytes, async () => {
      const got = await curlGet(`${base}/v2/images/${up}/file`);
      if (got !== bytes) throw new Error(`download of ${up} gave ${got} bytes of ${bytes}`);
    }));
  };
  if (!stageFirst) await upload();
  if (STEPS.has('stage')) add(stageFirst ? 'stage (first in round)' : 'stage', await measured(server, classifier, bytes, () => curlPut(`${base}/v2/images/${staged}/stage`, file)));
  if (STEPS.has('stage') && STEPS.has('import')) add(stageFirst ? 'import (glance-direct, first in round)' : 'import (glance-direct)', await measured(server, classifier, bytes, async () => {
    await call('POST', `${base}/v2/images/${staged}/import`, { method: { name: 'glance-direct' } });
    for (;;) {
      const image = await call('GET', `${base}/v2/images/${staged}`);
      if (image.status === 'active' && image.os_glance_import_task === undefined) return;
      if (image.os_glance_failed_import) throw new Error(`import of ${staged} failed`);
      await sleep(100);
    }
  }));
  if (stageFirst) await upload();
  for (const id of [up, staged]) await call('DELETE', `${base}/v2/images/${id}`);
}

/** Machine limits in this process (one thread): hashing, disk write + fsync. */
function localLimits(data: Buffer, scratch: string): { name: string; mibps: number; cpuPerGiB: number }[] {
  const out: { name: string; mibps: number; cpuPerGiB: number }[] = [];
  const time = (name: string, fn: () => void) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    out.push({ name, mibps: data.length / MIB / seconds, cpuPerGiB: ((c.user + c.system) / 1e6) * (GIB / data.length) });
  };
  const chunks = (fn: (chunk: Buffer) => void) => {
    for (let o = 0; o < data.length; o += MIB) fn(data.subarray(o, o + MIB));
  };
  time('md5 (node crypto, 1 MiB updates)', () => {
    const h = createHash('md5');
    chunks((c) => h.update(c));
    h.digest();
  });
  time('sha512', () => {
    const h = createHash('sha512');
    chunks((c) => h.update(c));
    h.digest();
  });
  time('md5 + sha512 in one pass, one thread', () => {
    const a = createHash('md5');
    const b = createHash('sha512');
    chunks((c) => {
      a.update(c);
      b.update(c);
    });
    a.digest();
    b.digest();
  });
  const path = join(scratch, 'dd.bin');
  time('disk write, 1 MiB writes + one fsync (CPU: this thread only, not the kernel flushers)', () => {
    const fd = openSync(path, 'w');
    chunks((c) => writeSync(fd, c));
    fsyncSync(fd);
    closeSync(fd);
  });
  rmSync(path, { force: true });
  return out;
}

async function loopbackLimits(file: string, bytes: number, figures: ServerFigures): Promise<void> {
  for (const kind of ['sink', 'memory'] as const) {
    const srv = await loopbackServer(kind, bytes);
    const classifier = new ThreadClassifier(srv.pid, 'node');
    const server: Server = { name: kind, url: srv.url, pid: srv.pid, stop: async () => srv.stop() };
    try {
      const step = kind === 'sink' ? 'loopback curl -T to a node sink' : 'loopback GET of one buffer from memory (node ceiling)';
      // One transfer first, not measured, as the servers under test have had theirs: a fresh
      // process's first GET ran at about half the speed of the next ones.
      if (kind === 'sink') await curlPut(srv.url, file);
      else await curlGet(srv.url);
      const f = await measured(server, classifier, bytes, async () => {
        if (kind === 'sink') await curlPut(srv.url, file);
        else await curlGet(srv.url);
      });
      figures.set(step, [...(figures.get(step) ?? []), f]);
    } finally {
      srv.stop();
    }
  }
}

export async function runCpuBench(opts: { fileMiB: number; reps: number; withPeer: boolean; noFlush: boolean; streams?: boolean; out: string }): Promise<CpuBenchResult> {
  mkdirSync(opts.out, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'iris-cpu-bench-'));
  const bytes = opts.fileMiB * MIB;
  const result: CpuBenchResult = {
    fileMiB: opts.fileMiB,
    reps: opts.reps,
    limits: [],
    servers: new Map(),
    machine: processor(),
    loadBefore: loadavg(),
    loadAfter: '',
  };
  try {
    const data = randomFillSync(Buffer.allocUnsafe(bytes));
    const file = join(scratch, 'data.bin');
    writeFileSync(file, data);
    result.limits = localLimits(data, scratch);
    const loop: ServerFigures = new Map();
    result.servers.set('machine', loop);
    const irisEnv = {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__DEFAULT__ENABLED_IMPORT_METHODS: 'glance-direct',
    };
    const variants: { name: string; start: () => Promise<Server>; kind: 'node' | 'other' }[] = [
      { name: 'Iris', kind: 'node', start: () => startIris({ name: 'iris-cpu', dataDir: join(scratch, 'iris'), workers: 1, logFile: join(opts.out, 'iris.log'), env: irisEnv, noFlush: false, root: IRIS_ROOT }) },
    ];
    if (opts.noFlush) {
      variants.push({ name: 'Iris, no fsync (bench only)', kind: 'node', start: () => startIris({ name: 'iris-cpu-noflush', dataDir: join(scratch, 'iris-nf'), workers: 1, logFile: join(opts.out, 'iris-noflush.log'), env: irisEnv, noFlush: true, root: IRIS_ROOT }) });
    }
    if (opts.streams) {
      // The same Iris without transfer threads: what moving the bytes on a thread of their own saves.
      const env = { ...irisEnv, IRIS__IRIS__DIRECT_TRANSFERS: 'false' };
      variants.push({ name: 'Iris, direct_transfers = false', kind: 'node', start: () => startIris({ name: 'iris-cpu-streams', dataDir: join(scratch, 'iris-streams'), workers: 1, logFile: join(opts.out, 'iris-streams.log'), env, noFlush: false, root: IRIS_ROOT }) });
    }
    for (const [i, [label, root, nodeArgs]] of OTHER_ROOTS.entries()) {
      variants.push({ name: `Iris ${label}`, kind: 'node', start: () => startIris({ name: `iris-cpu-other${i}`, dataDir: join(scratch, `iris-other${i}`), workers: 1, logFile: join(opts.out, `iris-other${i}.log`), env: irisEnv, noFlush: false, root, nodeArgs }) });
    }
    if (opts.withPeer) {
      variants.push({
        name: 'Glance',
        kind: 'other',
        start: () => startPeer({ stateDir: join(scratch, 'peer'), logFile: join(opts.out, 'peer.log'), settings: { PEER_GLANCE_BACKENDS: 'local,local2', PEER_GLANCE_IMPORT_METHODS: 'glance-direct' } }),
      });
    }
    const started: { name: string; server: Server; classifier: ThreadClassifier }[] = [];
    try {
      for (const v of variants) {
        log(`starting ${v.name}`);
        const server = await v.start();
        const classifier = new ThreadClassifier(server.pid, v.kind);
        classifier.classify(); // startup threads, before any upload
        // Warm-up: starts the hashing threads and the pool, compiles the hot paths.
        const warm = join(scratch, 'warm.bin');
        writeFileSync(warm, data.subarray(0, 8 * MIB));
        const id = (await call('POST', `${server.url}/v2/images`, { name: 'warm', disk_format: 'raw', container_format: 'bare' })).id as string;
        await curlPut(`${server.url}/v2/images/${id}/file`, warm);
        await curlGet(`${server.url}/v2/images/${id}/file`);
        await call('DELETE', `${server.url}/v2/images/${id}`);
        started.push({ name: v.name, server, classifier });
        result.servers.set(v.name, new Map());
      }
      // Rounds interleave the servers so that a change in the machine's load hits them alike.
      for (let rep = 0; rep < opts.reps; rep++) {
        await loopbackLimits(file, bytes, loop);
        for (const s of started) {
          log(`round ${rep + 1}/${opts.reps}: ${s.name}`);
          await serverRound(s.server, s.classifier, file, bytes, result.servers.get(s.name)!, rep);
        }
      }
    } finally {
      for (const s of started) await s.server.stop().catch((e: unknown) => log(`stopping ${s.name}: ${String(e)}`));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  result.loadAfter = loadavg();
  writeFileSync(join(opts.out, 'cpu-per-gib.md'), `${cpuReport(result)}\n`);
  return result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The markdown section: limits, then per step a table of servers x thread groups (CPU s/GiB, user+sys). */
export function cpuReport(r: CpuBenchResult): string {
  const lines = [
    `## CPU seconds per GiB by thread (${r.fileMiB} MiB, median of ${r.reps})`,
    '',
    `- processor: ${r.machine}; load average before ${r.loadBefore}, after ${r.loadAfter}`,
    '- CPU s/GiB = (utime + stime of the thread group) / GiB moved, from /proc/<pid>/task/*/stat; user / sys in brackets.',
    '- MiB/s is wall clock, a smoke figure when the machine is loaded.',
    "- machine CPU s/GiB: the whole machine's busy time (/proc/stat) from the step's start until a `sync` after it has written back what the step left dirty: the server, curl, and the kernel's flusher threads, which do the writeback of a server that never fsyncs (Glance); anything else running counts too. Every step starts after a `sync`.",
    '',
    '| machine limit (this process, one thread) | MiB/s | CPU s/GiB |',
    '|---|---|---|',
    ...r.limits.map((l) => `| ${l.name} | ${l.mibps.toFixed(0)} | ${l.cpuPerGiB.toFixed(2)} |`),
    '',
  ];
  const steps = new Set<string>();
  for (const figs of r.servers.values()) for (const step of figs.keys()) steps.add(step);
  lines.push('| step | server | MiB/s | total CPU s/GiB | machine CPU s/GiB | by thread: CPU s/GiB (user / sys) |', '|---|---|---|---|---|---|');
  for (const step of steps) {
    for (const [name, figs] of r.servers) {
      const rounds = figs.get(step);
      if (!rounds) continue;
      const perGiB = (x: number, f: StepFigure) => (x * GIB) / f.bytes;
      const groups = new Set<string>();
      for (const f of rounds) for (const g of f.cpu.groups.keys()) groups.add(g);
      const byGroup = [...groups]
        .map((g) => {
          const u = median(rounds.map((f) => perGiB(f.cpu.groups.get(g)?.user ?? 0, f)));
          const s = median(rounds.map((f) => perGiB(f.cpu.groups.get(g)?.sys ?? 0, f)));
          return { g, u, s };
        })
        .filter((x) => x.u + x.s >= 0.005)
        .sort((a, b) => b.u + b.s - (a.u + a.s))
        .map((x) => `${x.g} ${(x.u + x.s).toFixed(2)} (${x.u.toFixed(2)} / ${x.s.toFixed(2)})`)
        .join('; ');
      const mibps = median(rounds.map((f) => f.mibps));
      const total = median(rounds.map((f) => perGiB(f.cpu.total, f)));
      const machine = median(rounds.map((f) => perGiB(f.machineCpu, f)));
      lines.push(`| ${step} | ${name} | ${mibps.toFixed(0)} | ${total.toFixed(2)} | ${machine.toFixed(2)} | ${byGroup} |`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const out = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench', 'results', `cpu-${STAMP}`);
  const result = await runCpuBench({
    fileMiB: Number(process.env.BENCH_CPU_MB ?? 512),
    reps: Number(process.env.BENCH_CPU_REPS ?? 2),
    withPeer: process.env.BENCH_PEER !== '0',
    noFlush: process.env.BENCH_CPU_NOFLUSH !== '0',
    streams: process.env.BENCH_CPU_STREAMS !== '0',
    out,
  });
  process.stdout.write(`${cpuReport(result)}\n`);
}
