/**
 * What the throwaway SQL servers of the tests share (postgres-server.ts, mariadb-server.ts):
 * the handle they return, the loud-skip-or-fail rule for a missing engine, and a child
 * process in its own process group that stop() always kills, with its temp dir removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running throwaway server and one database on it, owned by a password user. */
export interface SqlServer {
  readonly engine: 'postgresql' | 'mariadb';
  /** SQLAlchemy-style URL of the test database, as an operator writes it in [database] connection. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** The temp dir holding data, socket and logs (gone after stop()). */
  readonly dir: string;
  /** Creates another empty database (same user and password) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Kills the server (always, also after a failed start) and removes its temp dir; idempotent. */
  stop(): Promise<void>;
  /** The server's output so far, for failure messages. */
  logs(): string;
}

/** Throws naming the first of `paths` that is not an executable file (the engine is not installed). */
export function assertBinaries(engine: string, paths: readonly string[]): void {
  for (const path of paths) {
    try {
      accessSync(path, constants.X_OK);
    } catch (err) {
      throw new Error(`${engine} not installed (${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
}

/**
 * Starts a server with `start`, or skips the test LOUDLY (t.skip plus a console line) when it
 * cannot be started; with CI=true the failure propagates instead.
 *
 * @example const pg = await startOrSkip(t, startPostgres); if (pg === undefined) return;
 */
export async function startOrSkip(t: TestContext, start: () => Promise<SqlServer>): Promise<SqlServer | undefined> {
  try {
    return await start();
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`${(err as Error).message} — CI=true, so a database engine that cannot start is a failure`, { cause: err });
    }
    const message = `SKIP: ${(err as Error).message}`;
    console.error(`\n*** ${message} ***\n`);
    t.skip(message);
    return undefined;
  }
}

// Safety net: a test process that dies before stop() must not leave servers behind.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** True once the process has exited. */
  exited(): boolean;
  logs(): string;
  /** `gentle` to the process group, then SIGKILL after `graceMs`; waits for the exit. */
  kill(gentle: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const LOG_CAP = 256 * 1024;

/** Spawns `command` in its own process group, capturing its output. */
export function spawnServer(command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ServerProcess {
  const child = spawn(command, [...args], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-LOG_CAP);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let hasExited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      output += `\nspawn error: ${err.message}`;
      hasExited = true;
      live.delete(child);
      resolve();
    });
  });
  return {
    child,
    exited: () => hasExited,
    logs: () => output,
    async kill(gentle, graceMs = 5000) {
      if (hasExited) return;
      killGroup(child, gentle);
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      // Children that outlived the leader (e.g. postgres backends) go with the group.
      killGroup(child, 'SIGKILL');
    },
  };
}

/**
 * Calls `probe` until it resolves, the process exits (its logs in the error), or `timeoutMs`
 * passes. The last probe error is in the message.
 */
export async function waitUntilReady(server: ServerProcess, what: string, probe: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`${what} exited before it was ready:\n${server.logs()}`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (${(last as Error | undefined)?.message ?? 'no probe ran'}):\n${server.logs()}`);
}

/**
 * The handle of a server that started: `stop` sends `stopSignal` (the engine's fast shutdown;
 * ServerProcess.kill escalates) once, then removes its dir.
 */
export function startedServer(fields: Omit<SqlServer, 'stop' | 'logs'>, running: ServerProcess, stopSignal: NodeJS.Signals): SqlServer {
  let stopped = false;
  return {
    ...fields,
    logs: () => running.logs(),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await running.kill(stopSignal);
      } finally {
        removeDir(fields.dir);
      }
    },
  };
}

/** After a failed start: kills what was started, removes the dir, and rethrows `err`. */
export async function abandonStart(server: ServerProcess | undefined, dir: string, err: unknown): Promise<never> {
  try {
    await server?.kill('SIGKILL');
  } finally {
    removeDir(dir);
  }
  throw err;
}

/** Removes a temp dir, ignoring a missing one. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A password fit for a URL without escaping. */
export function randomPassword(): string {
  return `pw${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}
