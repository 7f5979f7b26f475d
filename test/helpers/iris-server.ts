/**
 * Starts a real Iris server (bin/iris-api.js, running dist/) as a child process for integration tests: port 0 (the
 * kernel picks a free port; the helper reads it from Iris's `Iris listening` log line, so no
 * other process can take it in between), a temp data dir, its own process group (so a test can
 * SIGKILL the server and anything it spawned at once, like a crash), output captured for
 * failure messages.
 *
 * @example
 *   const iris = await startIris();
 *   after(() => iris.stop());
 *   const r = await fetch(`${iris.baseUrl}/v2/images`);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  /** Extra arguments after bin/iris-api.js. */
  readonly args?: readonly string[];
  /** Keep a data dir that startIris created when stop() runs (default: delete it). */
  readonly keepDataDir?: boolean;
  /** Working directory of the server (default the repository root). */
  readonly cwd?: string;
  /** How long to wait for the `Iris listening` line (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Where the server logs when not on stdout/stderr (log_file, log_dir): the line is read there. */
  readonly logFile?: string;
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

/**
 * A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). Racy: another
 * process may take it before the caller binds it. Only for external servers that must be told
 * their port before they start (Keystone under uWSGI, the peer Glance); Iris and in-process
 * servers listen on port 0 instead.
 */
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

/**
 * The address in Iris's startup line: pino JSON (`{"msg":"Iris listening","url":"http://…:PORT"}`)
 * or a text line holding `Iris listening` and a `http://HOST:PORT` URL. Undefined for any
 * other line. A wildcard host (0.0.0.0, ::) is reached through loopback.
 */
export function listeningAddress(line: string): { host: string; port: number } | undefined {
  if (!line.includes('Iris listening')) return undefined;
  let url: string | undefined;
  try {
    const record = JSON.parse(line) as { msg?: unknown; url?: unknown };
    if (typeof record.msg === 'string' && record.msg.startsWith('Iris listening') && typeof record.url === 'string') url = record.url;
  } catch {
    // not JSON: a text log line
  }
  const m = /https?:\/\/(\[[0-9a-fA-F:.]+\]|[^\s"'/:\[\]]+):(\d+)/.exec(url ?? line);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  let host = m[1]!;
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]') host = '[::1]';
  return { host, port };
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
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'iris-test-'));
  // Known once Iris logs its address; until then messages name the pid only.
  let baseUrl = '';
  let port = 0;

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Hermetic: no IRIS_CONFIG / IRIS__* from the developer's shell; NODE_TEST_CONTEXT is set
    // by `node --test` for its subprocesses and the server is not a test file.
    if (k.startsWith('IRIS_') || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  Object.assign(env, { IRIS_PORT: '0', IRIS_DATA_DIR: dataDir, ...opts.env });

  // The launcher, as `npm start` runs it: dist/ (rebuilt when a source changed), which starts
  // 1-2 s sooner than the sources under tsx, and from any working directory.
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'iris-api.js'), ...(opts.args ?? [])], {
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
  // The first `Iris listening` line on stdout (with workers > 1 every worker logs the same port).
  let resolveListening: (address: { host: string; port: number }) => void = () => {};
  const listening = new Promise<{ host: string; port: number }>((resolve) => (resolveListening = resolve));
  /** Looks for the listening line in complete lines of `text`; returns the unfinished tail. */
  const scan = (text: string): string => {
    const lines = text.split('\n');
    const tail = lines.pop() ?? '';
    for (const line of lines) {
      const address = port === 0 ? listeningAddress(line) : undefined;
      if (address !== undefined) {
        port = address.port;
        baseUrl = `http://${address.host}:${address.port}`;
        resolveListening(address);
      }
    }
    return tail;
  };
  // stdout, or stderr with use_stderr, or the log file with log_file / log_dir.
  let partialOut = '';
  let partialErr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    append(chunk);
    partialOut = scan(partialOut + chunk.toString('utf8'));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    append(chunk);
    partialErr = scan(partialErr + chunk.toString('utf8'));
  });
  const logFile = opts.logFile;
  const filePoll =
    logFile === undefined
      ? undefined
      : setInterval(() => {
          if (port !== 0) return;
          try {
            scan(readFileSync(logFile, 'utf8'));
          } catch {
            // not created yet
          }
        }, 50);

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

  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const fail = async (why: string): Promise<never> => {
    await stop();
    if (ownsDataDir && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${why}; output:\n${log}`);
  };
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    listening.then(() => 'listening' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), readyTimeoutMs))),
  ]).finally(() => {
    clearTimeout(timer);
    clearInterval(filePoll);
  });
  if (outcome === 'exited') {
    return fail(`Iris (pid ${child.pid}) exited before listening (code ${exitInfo?.code}, signal ${exitInfo?.signal})`);
  }
  if (outcome === 'timeout') return fail(`Iris (pid ${child.pid}) logged no "Iris listening" line within ${readyTimeoutMs} ms`);

  // Listening; ready = `GET /` answers at all (the version document is 300 on Glance).
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitInfo !== undefined) return fail(`Iris exited before answering (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    try {
      const res = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      ready = true;
      return { baseUrl, port, dataDir, child, stop, kill, logs: () => log };
    } catch (error) {
      if (Date.now() > deadline) return fail(`Iris did not answer GET ${baseUrl}/ within ${readyTimeoutMs} ms (${String(error)})`);
      await sleep(100);
    }
  }
}
