/**
 * Runs an external tool (qemu-img, unzip, lha) for an import plugin: an argument array and no
 * shell, standard input closed, standard error kept (bounded) for the error message, and the
 * child killed when the import is aborted.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Invalid } from '../../domain/errors.js';

/** How much of a tool's standard error is kept for the message. */
const STDERR_LIMIT = 16 * 1024;

export interface ToolRun {
  /** The exit code (null when killed by a signal). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Standard output when no `stdout` sink was given (bounded by `maxStdout`). */
  readonly stdout: string;
  /** Standard error, at most 16 KiB, trimmed. */
  readonly stderr: string;
}

export interface ToolOptions {
  /** Aborting kills the child (SIGKILL) and rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /**
   * Consumes standard output (e.g. `(out) => pipeline(out, cap, file)`). The run settles once
   * this has settled; when it rejects (a size cap), the child is killed and its error thrown.
   */
  readonly stdout?: (out: Readable) => Promise<void>;
  /** Bytes of standard output kept when there is no sink (default 1 MiB; more kills the child). */
  readonly maxStdout?: number;
  /** Milliseconds before the child is killed (default none). */
  readonly timeoutMs?: number;
}

/**
 * Runs `command` with `args` and resolves with how it ended; it never rejects for a non-zero
 * exit (callers decide), only for a tool that cannot be started (Invalid naming the tool), an
 * abort, a timeout or a failing `stdout` sink.
 *
 * @example
 * const run = await runTool('qemu-img', ['info', '-f', 'qcow2', '--output=json', path], { signal });
 * if (run.code !== 0) throw new Invalid(`qemu-img info failed: ${run.stderr}`);
 */
export function runTool(command: string, args: readonly string[], opts: ToolOptions): Promise<ToolRun> {
  return new Promise<ToolRun>((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let failure: unknown;
    const fail = (error: unknown) => {
      if (failure === undefined) failure = error;
      child.kill('SIGKILL');
    };
    const onAbort = () => fail(opts.signal.reason);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = opts.timeoutMs;
    const timer =
      timeoutMs === undefined ? undefined : setTimeout(() => fail(new Invalid(`${command} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);

    const errChunks: Buffer[] = [];
    let errBytes = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < STDERR_LIMIT) errChunks.push(chunk.subarray(0, STDERR_LIMIT - errBytes));
      errBytes += chunk.length;
    });

    const outChunks: Buffer[] = [];
    let sinkDone: Promise<void> = Promise.resolve();
    if (opts.stdout !== undefined) {
      sinkDone = opts.stdout(child.stdout).catch((error: unknown) => fail(error));
    } else {
      const max = opts.maxStdout ?? 1024 * 1024;
      let outBytes = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > max) fail(new Invalid(`${command} wrote more than ${max} bytes of output`));
        else outChunks.push(chunk);
      });
    }

    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? `${command} is not installed` : `${command} could not be started: ${error.message}`;
      fail(new Invalid(reason));
    });
    child.once('close', (code, signal) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      void sinkDone.then(() => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        resolve({
          code,
          signal,
          stdout: Buffer.concat(outChunks).toString('utf8'),
          stderr: Buffer.concat(errChunks).toString('utf8').trim(),
        });
      });
    });
  });
}

/** The first line or so of a tool's standard error, for a task message. */
export function briefly(stderr: string): string {
  const text = stderr.replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
