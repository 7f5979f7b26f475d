/**
 * The servers a benchmark run compares: Iris started from this checkout and the peer Glance
 * started by `peer-glance/start.sh`, each on a free loopback port with its own state directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/load-config.js';

/** A running server under test. */
export interface Server {
  readonly name: string;
  readonly url: string;
  /** The pid whose process tree is the server. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** The checkout's root (bench/..). */
export const REPO_ROOT = new URL('..', import.meta.url).pathname;
/** `peer-glance` next to the checkout, as the project's shared directory lays it out. */
/**
 * The node flags `npm start` gives Iris (package.json's start script): the benches run what
 * operators run. BENCH_IRIS_FLAGS (space-separated, may be empty) replaces them, to measure others.
 */
export const IRIS_NODE_FLAGS: readonly string[] =
  process.env.BENCH_IRIS_FLAGS === undefined ? startScriptFlags() : process.env.BENCH_IRIS_FLAGS.split(' ').filter(Boolean);

function startScriptFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  return start.slice(1).filter((arg) => arg.startsWith('--'));
}

export const PEER_DIR = process.env.PEER_GLANCE_SCRIPTS ?? join(REPO_ROOT, '..', 'shared', 'peer-glance');

/** A TCP port nobody listens on right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Waits until `url` answers any HTTP status. @throws Error after `ms`. */
export async function waitForHttp(url: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms / 1000}s`);
      await sleep(200);
    }
  }
}

/** The SQLite file Iris uses for a data directory, as its own config loader resolves it. */
export function irisSqlitePath(dataDir: string): string {
  return loadConfig({ argv: [], env: { IRIS_DATA_DIR: dataDir }, cwd: REPO_ROOT }).database.sqlite_path;
}

/**
 * Starts Iris from this checkout (`bin/iris-api.js`, as `npm start`: dist/, rebuilt when a source
 * changed) on a free port with
 * `workers` API processes and `dataDir` as its data directory; its log goes to `logFile`.
 */
export async function startIris(opts: {
  readonly name: string;
  readonly dataDir: string;
  readonly workers: number;
  readonly logFile: string;
  /** Extra environment (e.g. IRIS__DEFAULT__ENABLED_BACKENDS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Another checkout to start instead of this one (e.g. the previous commit, for a before/after). */
  readonly root?: string;
  /** Bench only: start without fsync (bench/no-flush.ts); default BENCH_NO_FLUSH=1. */
  readonly noFlush?: boolean;
  /** Node flags for this server only, after BENCH_IRIS_NODE_ARGS (e.g. a GC setting to compare). */
  readonly nodeArgs?: readonly string[];
}): Promise<Server> {
  const port = await freePort();
  const log = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    // BENCH_NO_FLUSH=1 (bench only, see bench/no-flush.ts): the same code without fsync.
    // It is TypeScript, so tsx comes with it (loaded only then).
    const noFlush = (opts.noFlush ?? process.env.BENCH_NO_FLUSH === '1') ? ['--import', 'tsx', '--import', join(REPO_ROOT, 'bench', 'no-flush.ts')] : [];
    // BENCH_IRIS_NODE_ARGS: node flags for the Iris processes (e.g. `--trace-gc`, not allowed in NODE_OPTIONS).
    const nodeArgs = [...IRIS_NODE_FLAGS, ...(process.env.BENCH_IRIS_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(opts.nodeArgs ?? [])];
    child = spawn(process.execPath, [...nodeArgs, ...noFlush, 'bin/iris-api.js'], {
      cwd: opts.root ?? REPO_ROOT,
      env: {
        ...process.env,
        IRIS_HOST: '127.0.0.1',
        IRIS_PORT: String(port),
        IRIS_DATA_DIR: opts.dataDir,
        IRIS__DEFAULT__WORKERS: String(opts.workers),
        ...opts.env,
      },
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const started = waitForHttp(`${url}/`);
  const early = exited.then(([code]) => {
    throw new Error(`Iris (${opts.name}) exited with code ${code} before answering; see ${opts.logFile}`);
  });
  early.catch(() => undefined);
  try {
    await Promise.race([started, early]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name: opts.name,
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM: the primary stops its cluster workers, a single worker closes its server.
      child.kill('SIGTERM');
      const timeout = sleep(15_000).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * Starts a private peer Glance with `start.sh` in the configuration matching Iris (one worker,
 * one filesystem store, no import methods, no cache), wiping its state first.
 * @throws Error when start.sh fails (its output is in `logFile`).
 */
export async function startPeer(opts: {
  readonly stateDir: string;
  readonly logFile: string;
  /** start.sh settings over the single-store, no-import defaults (e.g. PEER_GLANCE_BACKENDS). */
  readonly settings?: Readonly<Record<string, string>>;
}): Promise<Server> {
  const port = await freePort();
  const env = {
    ...process.env,
    PEER_GLANCE_DIR: opts.stateDir,
    PEER_GLANCE_PORT: String(port),
    PEER_GLANCE_BACKENDS: '',
    PEER_GLANCE_IMPORT_METHODS: '',
    ...opts.settings,
    PEER_GLANCE_CACHE: '0',
    PEER_GLANCE_FRESH: '1',
  };
  const log = openSync(opts.logFile, 'a');
  try {
    const result = spawnSync('bash', [join(PEER_DIR, 'start.sh')], { env, stdio: ['ignore', log, log] });
    if (result.status !== 0) throw new Error(`peer-glance start.sh failed (exit ${result.status}); see ${opts.logFile}`);
  } finally {
    closeSync(log);
  }
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`);
  const pid = Number(readFileSync(join(opts.stateDir, 'run', 'glance-api.pid'), 'utf8').trim());
  return {
    name: 'peer',
    url,
    pid,
    async stop() {
      spawnSync('bash', [join(PEER_DIR, 'stop.sh'), '--purge'], { env, stdio: 'ignore' });
    },
  };
}

/** The peer's SQLite file inside its state directory (see peer-glance/README.md). */
export function peerSqlitePath(stateDir: string): string {
  return join(stateDir, 'glance.sqlite');
}

/** `pid` and all its descendants, from /proc. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which may itself contain spaces or parentheses.
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** CPU time (user + system, all threads) of `pid` and its descendants, in clock ticks (USER_HZ, 1/100 s). */
export function treeTicks(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 (utime, stime), counted from 1 with pid and comm as fields 1 and 2.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks;
}

/** Resident set size of one process in bytes, or 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
