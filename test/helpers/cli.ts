/**
 * Runs an external CLI (glance, openstack) the way a user would, but hermetic: a private HOME
 * (glanceclient caches schemas under ~/.glanceclient and would leak state between runs), no
 * inherited OS_* / PYTHON* variables, stdin closed unless data is given, a hard timeout.
 *
 * @example
 *   const home = makeHome();
 *   const r = await runCli(GLANCE, ['image-list'], { home });
 *   assert.equal(r.code, 0, r.describe());
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Command line, exit status, stderr and (a part of) stdout: for assertion messages. */
  describe(): string;
}

export interface CliOptions {
  /** HOME for the child (see makeHome). */
  readonly home: string;
  /** Bytes written to stdin, which is otherwise closed. */
  readonly input?: Uint8Array | string;
  /** Default 60 s; then SIGKILL. */
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
}

/** A fresh temp directory to use as the CLI's HOME. */
export function makeHome(): string {
  return mkdtempSync(join(tmpdir(), 'iris-cli-home-'));
}

export function runCli(cmd: string, args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Credentials or a pyenv interpreter's settings from the developer's shell must not leak in.
    if (k.startsWith('OS_') || k.startsWith('PYTHON') || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  Object.assign(env, { HOME: opts.home, LC_ALL: 'C.UTF-8', ...opts.env });
  const timeoutMs = opts.timeoutMs ?? 60_000;

  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8') + extra;
      const line = [cmd, ...args].map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
      resolve({
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        describe: () =>
          `\n$ ${line}\n` +
          `exit ${code}${signal ? ` signal ${signal}` : ''}${timedOut ? ` (killed after ${timeoutMs} ms)` : ''}\n` +
          `--- stderr ---\n${stderr.trim()}\n--- stdout ---\n${stdout.length > 3000 ? `${stdout.slice(0, 3000)}…` : stdout.trim()}\n`,
      });
    };
    child.once('error', (e) => finish(null, null, `\nspawn error: ${String(e)}`));
    child.once('close', (code, signal) => finish(code, signal));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the CLI may exit before reading everything
      child.stdin.end(opts.input);
    }
  });
}
