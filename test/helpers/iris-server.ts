/**
 * Starts a real Iris server (src/main.ts) as a child process for integration tests: a free
 * loopback port, a temp data dir, its own process group (so a test can SIGKILL the server and
 * anything it spawned at once, like a crash), output captured for failure messages.
 *
 * @example
 *   const iris = await startIris();
 *   after(() => iris.stop());
 *   const r = await fetch(`${iris.baseUrl}/v2/images`);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface StartOptions {
  /** Extra environment, over the inherited one (minus IRIS_*) and IRIS_PORT / IRIS_DATA_DIR. */
  readonly env?: Record<string, string>;
  /** Use this data dir (e.g. to restart on the state of a killed server); never deleted by stop(). */
  readonly dataDir?: string;
  /** Extra arguments after src/main.ts. */
  readonly args?: readonly string[];
  /** Keep a data dir that startIris created when stop() runs (default: delete it). */
  readonly keepDataDir?: boolean;
  /** Working directory of the server (default the repository root). */
  readonly cwd?: string;
  /** How long to wait for `GET /` to answer (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface IrisProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** SIGTERM to the process group, wait for exit, SIGKILL after 5 s; removes an owned data dir. */
  stop(): Promise<void>;
  /** Sends `signal` to the whole process group and waits for the server to exit. */
  kill(signal: NodeJS.Signals): Promise<ExitInfo>;
  /** Everything the server wrote to stdout and stderr so far (interleaved, last 2 MiB). */
  logs(): string;
}

const LOG_CAP = 2 * 1024 * 1024;

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port from listen(0)'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Safety net: a test that crashes before stop() must not leave detached servers behind.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export async function startIris(opts: StartOptions = {}): Promise<IrisProcess> {
  const port = await freePort();
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'iris-test-'));
  const baseUrl = `http://127.0.0.1:${port}`;

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Hermetic: no IRIS_CONFIG / IRIS__* from the developer's shell; NODE_TEST_CONTEXT is set
    // by `node --test` for its subprocesses and the server is not a test file.
    if (k.startsWith('IRIS_') || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  Object.assign(env, { IRIS_PORT: String(port), IRIS_DATA_DIR: dataDir, ...opts.env });

  // Elsewhere than the repository, through the launcher: `--import tsx` resolves from the cwd.
  const entry = opts.cwd === undefined ? ['--import', 'tsx', 'src/main.ts'] : [join(REPO_ROOT, 'bin', 'iris-api.js')];
  const child = spawn(process.execPath, [...entry, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: kill(-pid) reaches the server and its children
  });
  live.add(child);

  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > LOG_CAP) log = log.slice(log.length - LOG_CAP);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let exitInfo: ExitInfo | undefined;
  let ready = false;
  let expectingExit = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      if (ready && !expectingExit) {
        // A crash mid-test otherwise shows up only as "connection refused" in some later step.
        process.stderr.write(
          `\n*** Iris (pid ${child.pid}, ${baseUrl}) exited unexpectedly: code ${code}, signal ${signal}; ` +
            `last output:\n${log.slice(-8000)}\n***\n`,
        );
      }
      resolve(exitInfo);
    });
    child.once('error', (err) => {
      append(Buffer.from(`\n[iris-server helper] spawn error: ${String(err)}\n`));
      exitInfo = { code: null, signal: null };
      live.delete(child);
      resolve(exitInfo);
    });
  });

  const signalGroup = (signal: NodeJS.Signals): void => {
    expectingExit = true;
    if (exitInfo !== undefined || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  };

  const kill = async (signal: NodeJS.Signals): Promise<ExitInfo> => {
    signalGroup(signal);
    return exited;
  };

  const stop = async (): Promise<void> => {
    signalGroup('SIGTERM');
    const done = await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
    if (done === undefined) {
      signalGroup('SIGKILL');
      await exited;
    }
    if (ownsDataDir && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  const iris: IrisProcess = { baseUrl, port, dataDir, child, stop, kill, logs: () => log };

  // Ready = `GET /` answers at all (the version document is 300 on Glance; any status is fine).
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exitInfo !== undefined) {
      if (ownsDataDir && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(
        `Iris exited before answering (code ${exitInfo.code}, signal ${exitInfo.signal}); output:\n${log}`,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Iris did not answer GET ${baseUrl}/ within ${opts.readyTimeoutMs ?? 20_000} ms; output:\n${log}`);
    }
    try {
      const res = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      ready = true;
      return iris;
    } catch {
      await sleep(100);
    }
  }
}
