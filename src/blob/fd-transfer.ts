/**
 * Transfer threads: a body moved between a client's socket and a file by a thread of its own,
 * with plain reads and writes on the two descriptors, instead of through the event loop's
 * stream machinery (issue 22). On the 2-core VM an upload of 512 MiB cost the event loop,
 * the hash threads, the libuv pool and the collector 5.4 CPU s/GiB together; the same bytes
 * read, hashed and written by one thread cost 3.2-3.4 (Glance: 4.4), at a higher rate.
 *
 * Downloads stay on the event loop: measured on the same VM (512 MiB, 7 rounds, quiet), a thread
 * writing the file into the socket served 2504 MiB/s against the event loop's 2894.
 *
 * A thread also reads a file for a put that links it instead of copying (`digest`: a staged
 * image imported into a filesystem store, blob-store.ts putLinked): md5, the multihash and the
 * format observer in one pass over 1 MiB positional reads, nothing written.
 *
 * The HTTP layer decides whether a request's socket may be handed over (a `DirectBody`,
 * direct-body.ts); the blob store decides whether a put can use it (a store that offers a file
 * to write into). Both fall back to the streams when a condition fails, including when every
 * thread is busy: a thread is held for the whole transfer.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Why a transfer ended early. */
export type TransferFailure =
  /** The client closed its side before the whole body came (a digest: the file ended early). */
  | 'eof'
  /** No byte moved for the idle limit. */
  | 'idle'
  /** The main thread aborted it. */
  | 'aborted'
  /** The socket failed (reset, broken pipe); a digest: reading the file failed. */
  | 'source'
  /** The file failed (no space, I/O error, shorter than expected). */
  | 'sink'
  /** A bug or an observer that threw. */
  | 'internal';

/** The thread's answer to one request. */
export type ThreadReply =
  | { ok: true; bytes: number; socketBytes: number; md5: string | null; multihash: string | null; observed?: unknown }
  | { ok: false; failure: TransferFailure; message: string; socketBytes: number; code?: string };

/** A data observer that can run on the transfer thread: a module exporting `createObserver(options)`. */
export interface PortableObserverSpec {
  /** URL of the module (`import.meta.url`-relative, so it works from the sources and from dist/). */
  readonly module: string;
  /** Structured-cloneable options for `createObserver`. */
  readonly options: unknown;
}

export interface ReceiveJob {
  /**
   * The socket to read the body from (non-blocking; the event loop no longer reads it). The
   * thread works on a duplicate of the descriptor, which it closes.
   */
  readonly socketFd: number;
  /** The body's first bytes, already read by the HTTP server. */
  readonly head: readonly Buffer[];
  /** The whole body's length, head included. */
  readonly length: number;
  /** The file to write into, from offset 0. */
  readonly fileFd: number;
  /** Start writeback every this many bytes (0: never). */
  readonly flushBytes: number;
  /** The multihash algorithm; null: no digests (md5 neither). */
  readonly hashAlgo: string | null;
  readonly observer?: PortableObserverSpec;
  /** Give up after this long without a byte (0: never). */
  readonly idleMs: number;
}

/** A file read to its end and hashed (and observed) on the thread, written nowhere. */
export interface DigestJob {
  /** The file to read, from offset 0 (positional reads: its offset is left alone). The thread works on a duplicate. */
  readonly fileFd: number;
  /** Its length: a file that ends before it fails with 'eof'. */
  readonly length: number;
  /** The multihash algorithm; null: no digests (md5 neither). */
  readonly hashAlgo: string | null;
  readonly observer?: PortableObserverSpec;
}

/** What goes to the thread. */
export type ReceiveRequest = Omit<ReceiveJob, 'head'> & { kind: 'receive'; head: Uint8Array[]; abort: SharedArrayBuffer };
export type DigestRequest = DigestJob & { kind: 'digest'; abort: SharedArrayBuffer };
export type ThreadRequest = ReceiveRequest | DigestRequest;

/** A transfer that ended early; `failure` says which side. */
export class TransferError extends Error {
  constructor(
    readonly failure: TransferFailure,
    message: string,
    /** Bytes read from the socket before it ended. */
    readonly socketBytes: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

export interface Received {
  readonly bytes: number;
  readonly md5: string | null;
  readonly multihash: string | null;
  /** Bytes read from the socket (the body minus its head). */
  readonly socketBytes: number;
  /** What the observer's `finish()` returned on the thread. */
  readonly observed?: unknown;
}

export interface Digested {
  readonly bytes: number;
  readonly md5: string | null;
  readonly multihash: string | null;
  readonly observed?: unknown;
}

/** One thread, held for one transfer. Exactly one of `receive`, `digest` or `release` must be called. */
export interface TransferLease {
  /**
   * Resolves true once the thread runs; false when it could not start (the pool then stops
   * offering threads, and the caller releases the lease and takes the streaming path). Wait for
   * it before taking a socket: a thread that never starts must not strand a request body.
   */
  ready(): Promise<boolean>;
  receive(job: ReceiveJob, signal?: AbortSignal): Promise<Received>;
  /** Reads a file and hashes it; a failure is a TransferError ('eof', 'source' for a read error, 'aborted'). */
  digest(job: DigestJob, signal?: AbortSignal): Promise<Digested>;
  /** Gives the thread back unused. */
  release(): void;
}

/** What the threads did since the process started (the metrics read it). */
export interface TransferStats {
  /** Bodies received (socket to file). */
  readonly receive: number;
  /** Files hashed for a put that linked them (a glance-direct import into a filesystem store). */
  readonly digest: number;
  /** Leases asked for when every thread was busy (those bodies took the streaming path). */
  readonly busy: number;
}

export interface TransferPool {
  /** A free thread, or null when all are busy (the caller takes the streaming path). */
  tryLease(): TransferLease | null;
  stats(): TransferStats;
  /** Ends the idle threads; busy ones end when their transfer does. */
  close(): Promise<void>;
}

export interface TransferPoolOptions {
  /** At most this many transfers at once; default the cores available (at least 2). */
  readonly threads?: number;
  /** An idle thread ends after this long. */
  readonly idleMs?: number;
  /** The thread's module (tests: one that fails to load); default fd-transfer-thread. */
  readonly entry?: URL;
}

const DEFAULT_IDLE_MS = 30_000;
/** V8 young generation of a thread: it allocates next to nothing per transfer. */
const YOUNG_GENERATION_MB = 1;

/** Loads the thread's module; under tsx (the sources) it registers tsx first (workers do not inherit its hooks). */
const BOOTSTRAP = `(async () => {
  const { workerData } = require('node:worker_threads');
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  (await import(workerData.entry)).start();
})()`;

/** dup(2), loaded on first use (koffi is a native module most processes never need). */
let dupCall: ((fd: number) => number) | undefined;

/**
 * A second descriptor for the socket (or file), which the thread uses and closes: should the
 * server close its own (the client went away, a shutdown, a stream destroyed) while the thread
 * works, the number cannot be reused for another file or connection under the thread.
 */
function duplicate(fd: number): number {
  if (!dupCall) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    dupCall = koffi.load('libc.so.6').func('int dup(int fd)') as (fd: number) => number;
  }
  const copy = dupCall(fd);
  if (copy < 0) throw new TransferError('source', `could not duplicate the descriptor ${fd}`, 0);
  return copy;
}

interface Thread {
  readonly worker: Worker;
  /** Settles when the thread has loaded its module (true) or failed to (false). */
  readonly ready: Promise<boolean>;
  busy: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** The reply the current transfer waits for. */
  pending: ((reply: ThreadReply) => void) | undefined;
}

export function createTransferPool(opts: TransferPoolOptions = {}): TransferPool {
  const limit = opts.threads ?? Math.max(2, availableParallelism());
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = (opts.entry ?? new URL(`./fd-transfer-thread.${fromSources ? 'ts' : 'js'}`, import.meta.url)).href;
  const tsxApi = fromSources ? import.meta.resolve('tsx/esm/api') : undefined;
  const threads = new Set<Thread>();
  let closed = false;
  /** Why threads could not start; then none is offered again (the streaming path works without them). */
  let broken: string | undefined;
  const counts = { receive: 0, digest: 0, busy: 0 };

  function spawn(): Thread {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      execArgv: [],
      workerData: { entry, tsxApi },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    let started!: (ok: boolean) => void;
    const ready = new Promise<boolean>((resolve) => (started = resolve));
    const thread: Thread = { worker, ready, busy: false, idleTimer: undefined, pending: undefined };
    worker.on('message', (reply: ThreadReply | { ready: true }) => {
      if ('ready' in reply) {
        started(true);
        return;
      }
      const pending = thread.pending;
      thread.pending = undefined;
      pending?.(reply);
    });
    const gone = (message: string) => {
      threads.delete(thread);
      clearTimeout(thread.idleTimer);
      started(false);
      const pending = thread.pending;
      thread.pending = undefined;
      pending?.({ ok: false, failure: 'internal', message, socketBytes: 0 });
    };
    worker.on('error', (err) => gone(`the transfer thread failed: ${err.message}`));
    worker.on('exit', (code) => gone(`the transfer thread exited (${code})`));
    void ready.then((ok) => {
      if (ok || broken !== undefined || closed) return;
      broken = 'a transfer thread could not start';
      process.emitWarning(`${broken}; uploads take the event loop from now on ([iris] direct_transfers)`, { code: 'IRIS_TRANSFER_THREADS' });
    });
    threads.add(thread);
    return thread;
  }

  function idle(thread: Thread): void {
    thread.busy = false;
    if (closed) {
      void thread.worker.terminate();
      return;
    }
    thread.worker.unref();
    thread.idleTimer = setTimeout(() => {
      threads.delete(thread);
      void thread.worker.terminate();
    }, idleMs);
    thread.idleTimer.unref();
  }

  function run(thread: Thread, request: ThreadRequest, signal: AbortSignal | undefined): Promise<ThreadReply> {
    counts[request.kind] += 1;
    const flag = new Int32Array(request.abort);
    const onAbort = () => Atomics.store(flag, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    thread.worker.ref();
    return new Promise<ThreadReply>((resolve) => {
      thread.pending = resolve;
      thread.worker.postMessage(request);
    }).finally(() => {
      signal?.removeEventListener('abort', onAbort);
      idle(thread);
    });
  }

  function lease(thread: Thread): TransferLease {
    let used = false;
    const use = () => {
      if (used) throw new Error('a transfer lease is used once');
      used = true;
    };
    /**
     * Takes the lease and duplicates the caller's descriptor for the thread (the caller's may be
     * closed under it: a client gone, a stream destroyed); a failure gives the thread back.
     */
    const begin = (fd: number): number => {
      use();
      try {
        return duplicate(fd);
      } catch (err) {
        idle(thread);
        throw err;
      }
    };
    return {
      ready: () => thread.ready,
      async receive(job, signal) {
        const socketFd = begin(job.socketFd);
        const { head, ...rest } = job;
        const reply = await run(thread, { ...rest, kind: 'receive', socketFd, head: head.map((b) => new Uint8Array(b)), abort: new SharedArrayBuffer(4) }, signal);
        if (!reply.ok) throw new TransferError(reply.failure, reply.message, reply.socketBytes, reply.code);
        const { bytes, socketBytes, md5, multihash, observed } = reply;
        return { bytes, socketBytes, md5, multihash, ...(observed !== undefined ? { observed } : {}) };
      },
      async digest(job, signal) {
        const fileFd = begin(job.fileFd);
        const reply = await run(thread, { ...job, kind: 'digest', fileFd, abort: new SharedArrayBuffer(4) }, signal);
        if (!reply.ok) throw new TransferError(reply.failure, reply.message, 0, reply.code);
        const { bytes, md5, multihash, observed } = reply;
        return { bytes, md5, multihash, ...(observed !== undefined ? { observed } : {}) };
      },
      release() {
        use();
        idle(thread);
      },
    };
  }

  return {
    tryLease() {
      if (closed || broken !== undefined) return null;
      let thread = [...threads].find((t) => !t.busy);
      if (!thread) {
        if (threads.size >= limit) {
          counts.busy += 1;
          return null;
        }
        thread = spawn();
      }
      clearTimeout(thread.idleTimer);
      thread.busy = true;
      return lease(thread);
    },
    stats: () => ({ ...counts }),
    async close() {
      closed = true;
      await Promise.all([...threads].filter((t) => !t.busy).map((t) => t.worker.terminate()));
    },
  };
}

let shared: TransferPool | undefined;

/** The process's transfer threads, created on first use. */
export function sharedTransferPool(): TransferPool {
  shared ??= createTransferPool();
  return shared;
}
