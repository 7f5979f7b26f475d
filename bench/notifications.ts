/**
 * The cost of notifications, same run: metadata requests (create, which sends image.create, and
 * PATCH, which sends image.update) against one Iris without notifications and one publishing to
 * a throwaway RabbitMQ (messagingv2), and the same with the broker killed (the outbound queue
 * fills, then drops). Rounds alternate the servers so machine noise hits all alike. Beside req/s
 * it prints the CPU seconds the Iris process spent per 1,000 requests (utime + stime from
 * /proc, all threads): on a machine shared with other work (and with the broker itself, whose
 * Erlang schedulers take CPU from Iris in the "on" rows) that figure barely moves with load,
 * while req/s does; and the same for the event loop's thread alone (notifications publish from
 * a thread of their own: what they cost the loop is what they take from requests). Prints a
 * Markdown section for bench/RESULTS.md.
 *
 *   node --import tsx bench/notifications.ts
 *   BENCH_NOTIFY_SECONDS=10 BENCH_NOTIFY_ROUNDS=3 node --import tsx bench/notifications.ts
 *   BENCH_NOTIFY_PROFILE=/tmp/prof node --import tsx bench/notifications.ts
 *     # a .cpuprofile of each server, and the share of its busy CPU samples spent in the notifier
 *     # (src/notify, amqplib) and in async hooks: a ratio within one process, which a loaded
 *     # machine disturbs far less than req/s or CPU seconds
 *   BENCH_NOTIFY_BEFORE=/tmp/iris-before node --import tsx bench/notifications.ts
 *     # also "off" and "on" from another checkout (e.g. `git archive <commit>` unpacked there with
 *     # node_modules linked in), measured in the same rounds: a before/after under the same load
 *   BENCH_NOTIFY_DRAIN=1   # empty the notification queue before each cell (as a consumer would)
 *   BENCH_NOTIFY_PEER=0    # leave out the real Glance (../shared/peer-glance), off and on, in the same rounds
 *   BENCH_NOTIFY_THREAD=1 [BENCH_NOTIFY_RATE=1500] [BENCH_NOTIFY_BEFORE=…]  # the notification thread
 *     # alone, no HTTP: its CPU and the broker's per message (see threadBench)
 *   BENCH_NOTIFY_CLIENT=fetch  # load from this process's fetch loops instead of wrk (the default
 *     # when installed): fetch costs the machine about as much CPU per request as Iris does, so
 *     # on two cores its cells measure the client as much as the server (see runWrk)
 *   BENCH_NOTIFY_WORKERS=2   # Iris with that many API processes (default 1, as `npm start`): with
 *     # as many processes as cores, the notification thread and the broker compete with requests
 *   BENCH_NOTIFY_BROKER_ERL_ARGS=''  # the broker as installed; by default one scheduler, no busy-waiting
 *     # (`+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none`: what a broker sharing a small host needs)
 *
 * The last column is the broker's own CPU per 1,000 requests: on two cores it is taken from the
 * servers and the load generator, so it shows in req/s while the server's CPU per request stays.
 * With BENCH_NOTIFY_PROFILE the notification thread writes its own profile beside its server's
 * (`on.cpuprofile.thread.cpuprofile`: the preload profiles the main thread only).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuModel } from './machine.js';
import { runLoad, type LoadResult } from './request-load.js';
import { PEER_DIR, REPO_ROOT, startIris, startPeer, treeTicks } from './servers.js';
import amqp from 'amqplib';
import { startRabbit } from '../test/helpers/rabbitmq-server.js';

const SECONDS = Number(process.env.BENCH_NOTIFY_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_NOTIFY_CONNS ?? 8);
const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? 3);
/** BENCH_NOTIFY_DOWN=0 leaves out the broker-down rounds. */
const BROKER_DOWN = process.env.BENCH_NOTIFY_DOWN !== '0';
const HEADERS = { 'X-Roles': 'admin', 'X-Project-Id': 'bench', 'Content-Type': 'application/json' };
const PATCH = { ...HEADERS, 'Content-Type': 'application/openstack-images-v2.1-json-patch' };
/** Where each server writes a V8 CPU profile at exit (one .cpuprofile per server), if set. */
const PROFILE_DIR = process.env.BENCH_NOTIFY_PROFILE;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * What sends the requests: wrk (as bench/run.ts and the peer's bench.sh use for metadata) when
 * it is installed, else this process's fetch loops; BENCH_NOTIFY_CLIENT picks one.
 */
const CLIENT = pickClient(process.env.BENCH_NOTIFY_CLIENT);
function pickClient(wanted: string | undefined): 'wrk' | 'fetch' {
  if (wanted === 'fetch') return 'fetch';
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing its version: only a missing binary is "absent".
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 'wrk';
    if (wanted === 'wrk') throw new Error('BENCH_NOTIFY_CLIENT=wrk: wrk is not installed (apt-get install -y wrk)');
    process.stderr.write('[bench:notify] wrk not installed: the load comes from fetch loops in this process, which take about half of a 2-core machine\n');
    return 'fetch';
  }
}
/** API processes per Iris. */
const WORKERS = Number(process.env.BENCH_NOTIFY_WORKERS ?? 1);

/** Another checkout whose Iris runs beside these, with notifications on. */
const BEFORE_ROOT = process.env.BENCH_NOTIFY_BEFORE || undefined;

interface BenchServer {
  readonly baseUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system, all threads) the server's processes have used so far. */
function cpuSeconds(pid: number): number {
  return treeTicks(pid) / TICKS;
}

/** CPU seconds the server's main thread (the event loop; its tid is the pid) has used so far. */
function eventLoopSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return NaN;
  }
}

interface Cell extends LoadResult {
  /** Server CPU seconds per 1,000 requests. */
  readonly cpuPerK: number;
  /** The same, of the event loop's thread alone (what notifications must not take from). */
  readonly loopPerK: number;
  /** The broker's CPU seconds per 1,000 requests (all its threads; NaN while it is down). */
  readonly brokerPerK: number;
}

async function withCpu(pid: number, run: () => Promise<LoadResult>): Promise<Cell> {
  const brokerPid = rabbit.pid();
  const broker = () => (brokerPid === undefined ? NaN : cpuSeconds(brokerPid));
  const before = cpuSeconds(pid);
  // With several API processes the primary's main thread serves no requests: no event loop figure.
  const loop = () => (WORKERS === 1 ? eventLoopSeconds(pid) : NaN);
  const loopBefore = loop();
  const brokerBefore = broker();
  const r = await run();
  return {
    ...r,
    cpuPerK: ((cpuSeconds(pid) - before) * 1000) / r.reqs,
    loopPerK: ((loop() - loopBefore) * 1000) / r.reqs,
    brokerPerK: ((broker() - brokerBefore) * 1000) / r.reqs };
}

function measure(iris: BenchServer): Promise<{ create: Cell; patch: Cell }> {
  return measureFor(iris, SECONDS);
}

async function measureFor(iris: BenchServer, seconds: number): Promise<{ create: Cell; patch: Cell }> {
  const base = iris.baseUrl;
  const pid = iris.pid;
  const createBody = JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' });
  const create = await withCpu(pid, () =>
    CLIENT === 'wrk'
      ? runWrk(`${base}/v2/images`, 'POST', HEADERS, `return '${createBody}'`, seconds)
      : runLoad(() => fetch(`${base}/v2/images`, { method: 'POST', headers: HEADERS, body: createBody }), CONNS, seconds),
  );
  const made = (await (await fetch(`${base}/v2/images`, { method: 'POST', headers: HEADERS, body: '{}' })).json()) as { id: string };
  let n = 0;
  const patch = await withCpu(pid, () =>
    CLIENT === 'wrk'
      ? runWrk(`${base}/v2/images/${made.id}`, 'PATCH', PATCH, `n = n + 1; return '[{"op": "replace", "path": "/name", "value": "n' .. n .. '"}]'`, seconds)
      : runLoad(
          () => fetch(`${base}/v2/images/${made.id}`, { method: 'PATCH', headers: PATCH, body: JSON.stringify([{ op: 'replace', path: '/name', value: `n${(n += 1)}` }]) }),
          CONNS,
          seconds,
        ),
  );
  return { create, patch };
}

/**
 * One wrk cell (one thread, CONNS connections, `--latency`): `body` is the Lua that returns each
 * request's body (it may count with the global `n`). wrk costs tens of µs of CPU per request
 * against the hundreds of a fetch loop in Node, so on two cores the server, its notification
 * thread and the broker are what the cell measures.
 */
async function runWrk(url: string, method: string, headers: Record<string, string>, body: string, seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-bench-wrk-'));
  const script = join(dir, 'request.lua');
  const headerLines = Object.entries(headers).map(([k, v]) => `h["${k}"] = "${v}"`).join('\n');
  writeFileSync(
    script,
    `n = 0\nlocal h = {}\n${headerLines}\nfunction body() ${body} end\nrequest = function() return wrk.format("${method}", nil, h, body()) end\n`,
  );
  try {
    const { stdout } = await promisify(execFile)('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', '-s', script, url]);
    const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? NaN);
    const ms = (re: RegExp): number => {
      const m = re.exec(stdout);
      if (m === null) return NaN;
      return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
    };
    const reqs = num(/(\d+) requests in/);
    return {
      reqs,
      rps: num(/Requests\/sec:\s+([\d.]+)/),
      p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
      p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
      // Answers of 400 and up, and connect, read, write errors and timeouts.
      errors: (num(/Non-2xx or 3xx responses: (\d+)/) || 0) + socketErrors(stdout),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sum of wrk's "Socket errors: connect 0, read 0, write 0, timeout 0" line (absent when all are 0). */
function socketErrors(stdout: string): number {
  const line = /Socket errors: (.*)/.exec(stdout)?.[1] ?? '';
  return [...line.matchAll(/\d+/g)].reduce((sum, m) => sum + Number(m[0]), 0);
}

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  readonly samples: readonly number[];
}

/** Shares (%) of a profile's busy samples whose stack runs through the notifier, amqplib, async hooks. */
function profileShares(file: string): { busy: number; notify: number; asyncHooks: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let busy = 0;
  let notify = 0;
  let asyncHooks = 0;
  for (const id of profile.samples) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    busy += 1;
    let inNotify = false;
    let inHooks = false;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)?.callFrame.url ?? '';
      // dist/notify when the server runs dist/ (as npm start does), src/notify under tsx.
      if (url.includes('/src/notify/') || url.includes('/dist/notify/') || url.includes('/amqplib/')) inNotify = true;
      if (url === 'node:internal/async_hooks' || url === 'node:internal/async_local_storage/async_hooks') inHooks = true;
    }
    if (inNotify) notify += 1;
    if (inHooks) asyncHooks += 1;
  }
  return { busy, notify: (100 * notify) / busy, asyncHooks: (100 * asyncHooks) / busy };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * The broker's Erlang flags. Its schedulers must not busy-wait: with Erlang's default (`+sbwt
 * medium`) an idle scheduler spins before it sleeps, which on a shared 2-core host burns the
 * cores the API needs (measured: ~170 µs of broker CPU per message against ~85 without).
 * RabbitMQ's start script passes `none` (Debian's 3.10.8 here does); the flags are
 * given explicitly so an older broker measures the same. One scheduler (`+S 1:1`): the broker
 * shares two cores with the servers and the load generator, and its second scheduler mostly
 * costs wake-ups and migrations (~57 µs per message against ~84 with two, same run).
 * BENCH_NOTIFY_BROKER_ERL_ARGS='' runs the broker as installed.
 */
const BROKER_ERL_ARGS = process.env.BENCH_NOTIFY_BROKER_ERL_ARGS ?? '+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none';
const rabbit = await startRabbit(BROKER_ERL_ARGS === '' ? {} : { erlArgs: BROKER_ERL_ARGS });

/**
 * BENCH_NOTIFY_THREAD=1: the notification thread alone, without HTTP: this process publishes
 * image.create messages (an image payload, ~1.2 KB bodies) at BENCH_NOTIFY_RATE per second
 * through a threaded transport of this checkout (and of BENCH_NOTIFY_BEFORE's), in alternating
 * cells, and prints the thread's CPU and the broker's per message. Without the servers and the
 * load generator's noise, it shows what a change to the thread or the batching does.
 */
if (process.env.BENCH_NOTIFY_THREAD === '1') {
  try {
    await threadBench();
  } finally {
    await rabbit.stop();
  }
  process.exit(0);
}

async function threadBench(): Promise<void> {
  const rate = Number(process.env.BENCH_NOTIFY_RATE ?? 1500);
  const roots: [string, string][] = [['this checkout', REPO_ROOT]];
  if (BEFORE_ROOT !== undefined) roots.push(['before', BEFORE_ROOT]);
  const taskTicks = (): Map<string, number> => {
    const ticks = new Map<string, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks.set(tid, Number(fields[11]) + Number(fields[12]));
      } catch {
        // The thread ended meanwhile.
      }
    }
    return ticks;
  };
  const quiet = { info: () => undefined, warn: () => undefined, error: (obj: unknown, msg: string) => console.error(msg, obj) };
  interface Variant {
    name: string;
    transport: { publish(m: unknown, c: undefined): void; stats(): { queued: number; sent: number; dropped: number }; close(ms?: number): Promise<void> };
    buildMessage(f: { publisherId: string; eventType: string; priority: 'INFO'; payload: Record<string, unknown>; now: Date }): unknown;
    threads: string[];
    thread: number[];
    broker: number[];
  }
  const variants: Variant[] = [];
  for (const [name, root] of roots) {
    const threaded = (await import(join(root, 'src/notify/threaded-transport.ts'))) as { createThreadedTransport(o: unknown): Variant['transport'] };
    const oslo = (await import(join(root, 'src/notify/oslo-message.ts'))) as { buildMessage: Variant['buildMessage'] };
    const before = new Set(readdirSync('/proc/self/task'));
    const transport = threaded.createThreadedTransport({
      endpoints: [{ hostname: '127.0.0.1', port: rabbit.port, username: 'guest', password: 'guest', vhost: '/' }],
      exchange: 'glance',
      queueSize: 100_000,
      retry: -1,
      routes: [{ version: 2, topic: 'notifications' }],
      logger: quiet,
    });
    // The thread's own threads (its isolate's helpers too) are those that appear meanwhile.
    await new Promise((r) => setTimeout(r, 2000));
    const threads = readdirSync('/proc/self/task').filter((tid) => !before.has(tid));
    variants.push({ name, transport, buildMessage: oslo.buildMessage, threads, thread: [], broker: [] });
  }
  const payload = (i: number): Record<string, unknown> => ({
    id: `6c5a1f1e-9d5b-4c43-8f0c-${String(i).padStart(12, '0')}`, name: 'bench', status: 'queued', created_at: '2026-12-07T04:30:00Z', updated_at: '2026-12-07T04:30:00Z',
    min_disk: 0, min_ram: 0, protected: false, checksum: null, owner: 'bench', disk_format: 'raw', container_format: 'bare', size: null, virtual_size: null,
    is_public: false, visibility: 'shared', properties: { os_hidden: false, os_hash_algo: null, os_hash_value: null, stores: '' }, tags: [], deleted: false, deleted_at: null,
  });
  for (let round = 0; round <= ROUNDS; round += 1) {
    for (const v of variants) {
      await drainQueues();
      const before = taskTicks();
      const brokerBefore = treeTicks(rabbit.pid()!);
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < SECONDS * 1000) {
        for (const due = Math.floor(((performance.now() - start) * rate) / 1000); n < due; n += 1) {
          v.transport.publish(v.buildMessage({ publisherId: 'image.localhost', eventType: 'image.create', priority: 'INFO', payload: payload(n), now: new Date() }), undefined);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      while (v.transport.stats().queued > 0) await new Promise((r) => setTimeout(r, 20));
      const after = taskTicks();
      const threadTicks = v.threads.reduce((sum, tid) => sum + (after.get(tid) ?? 0) - (before.get(tid) ?? 0), 0);
      // Round 0 warms up.
      if (round > 0) {
        v.thread.push(((threadTicks / TICKS) * 1e6) / n);
        v.broker.push((((treeTicks(rabbit.pid()!) - brokerBefore) / TICKS) * 1e6) / n);
      }
    }
  }
  const [l1, l5] = loadavg();
  console.log(`## Notification thread alone (BENCH_NOTIFY_THREAD=1 bench/notifications.ts)\n`);
  console.log(`${cpuModel()}; load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1 / 5 min) after; ${rate} messages/s, ${SECONDS} s per cell, median of ${ROUNDS} rounds; broker Erlang flags: ${BROKER_ERL_ARGS === '' ? 'as installed' : `\`${BROKER_ERL_ARGS}\``}.\n`);
  console.log('| transport | thread CPU µs / message | broker CPU µs / message | rounds (thread) | sent | dropped |');
  console.log('|---|---|---|---|---|---|');
  for (const v of variants) {
    const stats = v.transport.stats();
    console.log(`| ${v.name} | ${median(v.thread).toFixed(1)} | ${median(v.broker).toFixed(1)} | ${v.thread.map((x) => x.toFixed(0)).join(', ')} | ${stats.sent} | ${stats.dropped} |`);
  }
  for (const v of variants) await v.transport.close(1000);
}
/**
 * BENCH_NOTIFY_DRAIN=1: empty the notification queue before each cell, as a consumer (a
 * billing or search service) keeps it short in a deployment; by default it grows through the run.
 */
const DRAIN = process.env.BENCH_NOTIFY_DRAIN === '1';
async function drainQueues(): Promise<void> {
  const conn = await amqp.connect(rabbit.url);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.purgeQueue('notifications.info').catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
const on = { IRIS__OSLO_MESSAGING_NOTIFICATIONS__DRIVER: 'messagingv2', IRIS__OSLO_MESSAGING_NOTIFICATIONS__TRANSPORT_URL: rabbit.url.replace(/^amqp:/, 'rabbit:') };
const profile = (name: string): Record<string, string> =>
  PROFILE_DIR === undefined
    ? {}
    : { NODE_OPTIONS: `--import ${new URL('./cpu-profile-preload.mjs', import.meta.url).href}`, BENCH_CPU_PROFILE: `${PROFILE_DIR}/${name}.cpuprofile` };
/** One Iris (this checkout, or `root`), WORKERS API processes, its own data dir and log file. */
async function start(name: string, env: Record<string, string>, root?: string): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-bench-notify-'));
  const iris = await startIris({ name, dataDir: dir, workers: WORKERS, logFile: join(dir, 'iris.log'), env, root, noFlush: false });
  return {
    baseUrl: iris.url,
    pid: iris.pid,
    stop: async () => {
      await iris.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
const servers: Record<string, BenchServer> = { off: await start('off', profile('off')), on: await start('on', { ...on, ...profile('on') }) };
if (BEFORE_ROOT !== undefined) {
  servers['off (before)'] = await start('off (before)', profile('off-before'), BEFORE_ROOT);
  servers['on (before)'] = await start('on (before)', { ...on, ...profile('on-before') }, BEFORE_ROOT);
}
/** The real Glance beside Iris, without and with notifications (BENCH_NOTIFY_PEER=0 leaves it out). */
if (process.env.BENCH_NOTIFY_PEER !== '0' && existsSync(join(PEER_DIR, 'start.sh'))) {
  for (const [name, notify] of [['Glance off', false], ['Glance on', true]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'iris-bench-notify-peer-'));
    const settings: Record<string, string> = {};
    if (notify) {
      const conf = join(dir, 'notify.conf');
      writeFileSync(conf, `[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = ${on.IRIS__OSLO_MESSAGING_NOTIFICATIONS__TRANSPORT_URL}\n`);
      settings.PEER_GLANCE_EXTRA_CONF = conf;
    }
    const peer = await startPeer({ stateDir: join(dir, 'state'), logFile: join(dir, 'glance.log'), settings });
    servers[name] = {
      baseUrl: peer.url,
      pid: peer.pid,
      stop: async () => {
        await peer.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
} else {
  process.stderr.write(`[bench:notify] the real Glance left out (${process.env.BENCH_NOTIFY_PEER === '0' ? 'BENCH_NOTIFY_PEER=0' : `no ${PEER_DIR}/start.sh`})\n`);
}
const names = Object.keys(servers);
const [load1Before] = loadavg();
const results: Record<string, { create: number[]; patch: number[]; p99: number[]; createCpu: number[]; patchCpu: number[]; createLoop: number[]; patchLoop: number[]; broker: number[] }> = {};
const record = (name: string, r: { create: Cell; patch: Cell }): void => {
  const row = (results[name] ??= { create: [], patch: [], p99: [], createCpu: [], patchCpu: [], createLoop: [], patchLoop: [], broker: [] });
  row.createLoop.push(r.create.loopPerK);
  row.patchLoop.push(r.patch.loopPerK);
  row.create.push(r.create.rps);
  row.patch.push(r.patch.rps);
  row.p99.push(r.patch.p99);
  row.createCpu.push(r.create.cpuPerK);
  row.patchCpu.push(r.patch.cpuPerK);
  row.broker.push((r.create.brokerPerK + r.patch.brokerPerK) / 2);
  if (r.create.errors + r.patch.errors > 0) throw new Error(`${name}: ${r.create.errors + r.patch.errors} errors`);
};
try {
  // Warm-up, not recorded: each server loads its modules lazily and compiles its hot paths
  // during its first requests (a first cell would carry that), and the broker declares its queue.
  for (const name of names) await measureFor(servers[name]!, Math.min(3, SECONDS));
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each round starts with the next server: none is always first (or last) after the others.
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) {
      if (DRAIN) await drainQueues();
      record(name, await measure(servers[name]!));
    }
  }
  if (BROKER_DOWN) await rabbit.kill();
  for (let round = 0; round < (BROKER_DOWN ? ROUNDS : 0); round += 1) {
    for (const name of ['off', 'on'] as const) record(name === 'on' ? 'on, broker down' : 'off (broker-down rounds)', await measure(servers[name]!));
  }
} finally {
  for (const server of Object.values(servers)) await server.stop();
  await rabbit.stop();
}

const [l1, l5] = loadavg();
console.log(`## Notifications on vs off (bench/notifications.ts)\n`);
console.log(
  `${cpuModel()}; load average (1 min) ${load1Before!.toFixed(2)} before, ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1 / 5 min) after; ${CLIENT === 'wrk' ? 'wrk (1 thread)' : 'fetch loops in the bench process'}, ${CONNS} connections, Iris with ${WORKERS} API process${WORKERS === 1 ? '' : 'es'}, ${SECONDS} s per cell, median of ${ROUNDS} rounds; broker Erlang flags: ${BROKER_ERL_ARGS === '' ? 'as installed' : `\`${BROKER_ERL_ARGS}\``}.\n`,
);
console.log('| Iris | create req/s | create CPU s / 1k req | PATCH req/s | PATCH CPU s / 1k req | PATCH p99 ms | broker CPU s / 1k req | event loop CPU s / 1k req (create, PATCH) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(results)) {
  console.log(
    `| ${name} | ${median(r.create).toFixed(0)} | ${median(r.createCpu).toFixed(3)} | ${median(r.patch).toFixed(0)} | ${median(r.patchCpu).toFixed(3)} | ${median(r.p99).toFixed(1)} | ${Number.isNaN(median(r.broker)) ? '-' : median(r.broker).toFixed(3)} | ${median(r.createLoop).toFixed(3)}, ${median(r.patchLoop).toFixed(3)} |`,
  );
}
for (const [name, offName] of [['on', 'off'], ['on (before)', 'off (before)'], ['Glance on', 'Glance off']] as const) {
  const row = results[name];
  const off = results[offName];
  if (off === undefined || row === undefined) continue;
  const cost = (a: number[], b: number[]): string => `${(((median(b) - median(a)) / median(a)) * 100).toFixed(1)} %`;
  console.log(
    `\nNotifications ${name} against ${offName}, server CPU per request: create ${cost(off.createCpu, row.createCpu)}, PATCH ${cost(off.patchCpu, row.patchCpu)}; event loop CPU per request: create ${cost(off.createLoop, row.createLoop)}, PATCH ${cost(off.patchLoop, row.patchLoop)}; req/s: create ${cost(off.create, row.create)}, PATCH ${cost(off.patch, row.patch)}.`,
  );
}

if (PROFILE_DIR !== undefined) {
  console.log('\n| Iris (profiled) | busy samples | notifier + amqplib % | async hooks % |');
  console.log('|---|---|---|---|');
  for (const [name, file] of [['off', 'off'], ['on', 'on'], ['off (before)', 'off-before'], ['on (before)', 'on-before']] as const) {
    if (name.endsWith('(before)') && BEFORE_ROOT === undefined) continue;
    const shares = profileShares(`${PROFILE_DIR}/${file}.cpuprofile`);
    console.log(`| ${name} | ${shares.busy} | ${shares.notify.toFixed(2)} | ${shares.asyncHooks.toFixed(2)} |`);
  }
}
