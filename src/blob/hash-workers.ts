/**
 * Hashing threads: a small pool, created once per process, that computes the digests of an
 * upload off the main thread, one algorithm per thread, so md5 and the multihash run on
 * different cores while the main thread keeps parsing HTTP and writing to the store.
 *
 * Bytes reach the threads through a ring of slots in a SharedArrayBuffer: each incoming chunk is
 * copied once into the ring (the chunk itself goes on to the store driver, so it cannot be
 * transferred), and a full slot is announced to every thread with a small message. A slot is
 * reused only after every thread has acknowledged it, which bounds the bytes in flight and is
 * where backpressure comes from. Rings are kept and reused across jobs: a shared buffer is only
 * freed once every thread's garbage collector has let go of it, and the threads allocate so
 * little that a ring per upload would pile up (measured: +4 MiB RSS per upload, unbounded).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** One upload's digests being computed on the pool. */
export interface HashJob {
  /**
   * Queues `chunk` for every algorithm of the job. Returns undefined when all of it was copied
   * into the ring, or a promise that settles once it has been (the ring was full); the next
   * `update` must wait for that promise. The chunk may be reused by the caller afterwards.
   * A failed or aborted job rejects the returned promise, or the next one.
   */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /**
   * Ends the data and resolves with one lower-case hex digest per algorithm, in the order given
   * to `start`.
   * @throws Error (rejects) when a thread failed or the job was aborted.
   */
  digest(): Promise<string[]>;
  /**
   * Abandons the job: threads skip its queued slots and forget it, a pending `update` or
   * `digest` rejects with `reason`. Idempotent, and a no-op once the digests are in.
   */
  abort(reason?: Error): void;
}

/** Sizing of one job's ring. */
export interface RingOptions {
  /** Bytes per slot, i.e. per message to each thread. Default 256 KiB. */
  readonly slotBytes?: number;
  /** Slots in the ring: at most this many slots are being hashed at once. Default 8. */
  readonly slots?: number;
}

/** A set of hashing threads shared by concurrent jobs. */
export interface HashWorkerPool {
  /**
   * Starts a job hashing the same bytes with each of `algorithms` (node crypto names), each on
   * its own thread.
   *
   * @example
   * const job = sharedHashWorkerPool().start(['md5', 'sha512']);
   * for await (const chunk of body) await job.update(chunk);
   * const [md5, sha512] = await job.digest();
   * @throws Error when an algorithm is not supported by node's crypto (checked before starting).
   */
  start(algorithms: readonly string[], ring?: RingOptions): HashJob;
  /** Stops every thread; jobs still running reject. The pool starts new threads if used again. */
  close(): Promise<void>;
}

// 256 KiB x 8 measured level with 1 MiB x 4 on a 2-core VM (within noise, 250-260 MiB/s for md5 +
// sha512 fed 64 KiB chunks) at half the memory per concurrent upload.
const DEFAULT_SLOT_BYTES = 256 * 1024;
const DEFAULT_SLOTS = 8;
/** V8 young-generation limit of each hashing thread. */
const YOUNG_GENERATION_MB = 1;
/** Idle rings kept for reuse; more concurrent uploads than this allocate and later free theirs. */
const MAX_IDLE_RINGS = 4;
/**
 * Int32 words in front of the slots. Word 0 holds the id of the job that owns the ring (0: none);
 * a thread hashes a slot only while it still belongs to the job the message names, so an aborted
 * job's queued slots are skipped, even once the ring serves the next job.
 */
const HEADER_BYTES = 64;

/**
 * The thread's program. Plain JavaScript evaluated by the Worker, so that it runs the same under
 * tsx, compiled output or the `iris-api` launcher (whose TypeScript loader threads do not inherit).
 * Messages in: ring {ring, sab}, forget {ring}, open {job, algo, ring}, data {job, off, len},
 * end {job}, drop {job}. Messages out: ack {job, off}, digest {job, hex}, error {job, message}.
 */
const THREAD_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const HEADER = ${HEADER_BYTES};
const rings = new Map();
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'ring') {
    rings.set(m.ring, { bytes: new Uint8Array(m.sab, HEADER), owner: new Int32Array(m.sab, 0, 1) });
    return;
  }
  if (m.t === 'forget') {
    rings.delete(m.ring);
    return;
  }
  try {
    if (m.t === 'open') {
      jobs.set(m.job, { hash: createHash(m.algo), ring: rings.get(m.ring) });
      return;
    }
    const job = jobs.get(m.job);
    // A dropped or failed job: its remaining messages are ignored.
    if (job === undefined) return;
    if (m.t === 'data') {
      // An aborted upload must not keep this thread busy with the slots it had queued.
      if (Atomics.load(job.ring.owner, 0) !== m.job) return;
      job.hash.update(job.ring.bytes.subarray(m.off, m.off + m.len));
      parentPort.postMessage({ t: 'ack', job: m.job, off: m.off });
    } else if (m.t === 'end') {
      jobs.delete(m.job);
      parentPort.postMessage({ t: 'digest', job: m.job, hex: job.hash.digest('hex') });
    } else if (m.t === 'drop') {
      jobs.delete(m.job);
    }
  } catch (err) {
    jobs.delete(m.job);
    parentPort.postMessage({ t: 'error', job: m.job, message: String((err && err.message) || err) });
  }
});
`;

type ThreadMessage =
  | { readonly t: 'ack'; readonly job: number; readonly off: number }
  | { readonly t: 'digest'; readonly job: number; readonly hex: string }
  | { readonly t: 'error'; readonly job: number; readonly message: string };

/** What a thread reports to the job it is working for. */
interface JobListener {
  onMessage(thread: number, msg: ThreadMessage): void;
  onThreadFailure(err: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, JobListener>;
  /** Rings this thread has been sent. */
  readonly rings: Set<number>;
}

/** Shared memory for one job at a time. */
interface Ring {
  readonly id: number;
  readonly sab: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly owner: Int32Array;
  readonly slotBytes: number;
  readonly slots: number;
}

/**
 * Creates a pool whose threads start on first use and are unreferenced while idle, so an idle
 * pool never keeps the process alive.
 */
export function createHashWorkerPool(): HashWorkerPool {
  const threads: (Thread | undefined)[] = [];
  const idleRings: Ring[] = [];
  let nextJob = 1;
  let nextRing = 1;
  let running = 0;

  function thread(index: number): Thread {
    const existing = threads[index];
    if (existing) return existing;
    // execArgv [] keeps the parent's `--import tsx` out: the thread needs no loader, and skipping
    // it saves start-up time and memory. A 1 MiB young generation: the threads keep almost nothing
    // alive, and V8's default let each grow by tens of MiB of message garbage before collecting
    // (measured: peak RSS of 10 concurrent uploads 243 MiB by default, 210 MiB with this).
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const created: Thread = { worker, jobs: new Map(), rings: new Set() };
    const fail = (err: Error) => {
      if (threads[index] === created) threads[index] = undefined;
      const listeners = [...created.jobs.values()];
      created.jobs.clear();
      for (const listener of listeners) listener.onThreadFailure(err);
    };
    worker.on('message', (msg: ThreadMessage) => created.jobs.get(msg.job)?.onMessage(index, msg));
    worker.on('error', (err) => fail(new Error('Hashing thread failed', { cause: err })));
    worker.on('exit', (code) => fail(new Error(`Hashing thread exited with code ${code}`)));
    if (running === 0) worker.unref();
    threads[index] = created;
    return created;
  }

  // Threads are referenced only while a job runs: a pending digest must keep the process alive.
  function jobStarted(): void {
    if (running++ === 0) for (const t of threads) t?.worker.ref();
  }
  function jobEnded(): void {
    if (--running === 0) for (const t of threads) t?.worker.unref();
  }

  function takeRing(slotBytes: number, slots: number): Ring {
    const at = idleRings.findIndex((r) => r.slotBytes === slotBytes && r.slots === slots);
    const idle = idleRings[at];
    if (idle !== undefined) {
      idleRings.splice(at, 1);
      return idle;
    }
    const sab = new SharedArrayBuffer(HEADER_BYTES + slotBytes * slots);
    return {
      id: nextRing++,
      sab,
      bytes: new Uint8Array(sab, HEADER_BYTES),
      owner: new Int32Array(sab, 0, 1),
      slotBytes,
      slots,
    };
  }

  function returnRing(ring: Ring): void {
    Atomics.store(ring.owner, 0, 0);
    if (idleRings.length < MAX_IDLE_RINGS) {
      idleRings.push(ring);
      return;
    }
    // Let the threads drop their view too, so that the memory can actually be freed.
    for (const t of threads) {
      if (t?.rings.delete(ring.id)) t.worker.postMessage({ t: 'forget', ring: ring.id });
    }
  }

  function start(algorithms: readonly string[], ringOpts: RingOptions = {}): HashJob {
    // Fail here, synchronously, rather than as a thread error after data has flowed.
    for (const algo of algorithms) createHash(algo);
    // Threads first: if one cannot be started, nothing has been taken yet.
    const mine = algorithms.map((_, i) => thread(i));
    const ring = takeRing(ringOpts.slotBytes ?? DEFAULT_SLOT_BYTES, ringOpts.slots ?? DEFAULT_SLOTS);
    const { slotBytes, slots, bytes } = ring;
    const id = nextJob++;
    Atomics.store(ring.owner, 0, id);
    jobStarted();

    // Per slot: acknowledgements still owed by the threads (0 = free).
    const owed = new Uint8Array(slots);
    let current = 0;
    let filled = 0;
    let failure: Error | undefined;
    let finished = false;
    let slotWaiter: { resolve(): void; reject(err: Error): void } | undefined;
    const digests: (string | undefined)[] = algorithms.map(() => undefined);
    let digestWaiter: { resolve(hex: string[]): void; reject(err: Error): void } | undefined;

    const listener: JobListener = {
      onMessage(index, msg) {
        if (finished) return;
        if (msg.t === 'ack') {
          // A thread acknowledges a slot offset it was sent.
          owed[msg.off / slotBytes]! -= 1;
          if (slotWaiter && owed[current] === 0) {
            const waiter = slotWaiter;
            slotWaiter = undefined;
            waiter.resolve();
          }
        } else if (msg.t === 'digest') {
          digests[index] = msg.hex;
          if (digests.every((d) => d !== undefined)) {
            finish();
            digestWaiter?.resolve(digests as string[]);
          }
        } else {
          stop(new Error(`Hashing ${algorithms[index]} failed: ${msg.message}`));
        }
      },
      onThreadFailure(err) {
        stop(err);
      },
    };
    mine.forEach((t, i) => {
      t.jobs.set(id, listener);
      if (!t.rings.has(ring.id)) {
        t.rings.add(ring.id);
        t.worker.postMessage({ t: 'ring', ring: ring.id, sab: ring.sab });
      }
      t.worker.postMessage({ t: 'open', job: id, algo: algorithms[i], ring: ring.id });
    });

    function finish(): void {
      finished = true;
      for (const t of mine) t.jobs.delete(id);
      // Safe even after an abort: the owner word no longer names this job, so a thread still
      // working through its queue skips the slots, whoever writes into them next.
      returnRing(ring);
      jobEnded();
    }

    /** Ends the job early, telling the threads to skip its queued slots. */
    function stop(err: Error): void {
      if (finished) return;
      failure = err;
      for (const t of mine) t.worker.postMessage({ t: 'drop', job: id });
      finish();
      slotWaiter?.reject(err);
      slotWaiter = undefined;
      digestWaiter?.reject(err);
      digestWaiter = undefined;
    }

    function dispatch(): void {
      const off = current * slotBytes;
      owed[current] = mine.length;
      for (const t of mine) t.worker.postMessage({ t: 'data', job: id, off, len: filled });
      current = (current + 1) % slots;
      filled = 0;
    }

    function update(chunk: Uint8Array): Promise<void> | undefined {
      if (failure) return Promise.reject(failure);
      if (finished || digestWaiter) return Promise.reject(new Error('HashJob: update after digest'));
      let at = 0;
      while (at < chunk.length) {
        if (owed[current] !== 0) {
          const rest = chunk.subarray(at);
          return new Promise<void>((resolve, reject) => {
            slotWaiter = { resolve, reject };
          }).then(() => update(rest));
        }
        const n = Math.min(slotBytes - filled, chunk.length - at);
        bytes.set(chunk.subarray(at, at + n), current * slotBytes + filled);
        filled += n;
        at += n;
        if (filled === slotBytes) dispatch();
      }
      return undefined;
    }

    function digest(): Promise<string[]> {
      if (failure) return Promise.reject(failure);
      if (finished || digestWaiter) return Promise.reject(new Error('HashJob: digest requested twice'));
      if (filled > 0) dispatch();
      for (const t of mine) t.worker.postMessage({ t: 'end', job: id });
      return new Promise<string[]>((resolve, reject) => {
        digestWaiter = { resolve, reject };
      });
    }

    function abort(reason: Error = new Error('Hashing aborted')): void {
      stop(reason);
    }

    return { update, digest, abort };
  }

  async function close(): Promise<void> {
    const all = threads.splice(0).filter((t): t is Thread => t !== undefined);
    idleRings.length = 0;
    await Promise.all(all.map((t) => t.worker.terminate()));
  }

  return { start, close };
}

let shared: HashWorkerPool | undefined;

/** The process-wide pool (one per process, so one per cluster worker). */
export function sharedHashWorkerPool(): HashWorkerPool {
  shared ??= createHashWorkerPool();
  return shared;
}
