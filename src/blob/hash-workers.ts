/**
 * Hashing threads: a small pool, created once per process, that computes the digests of an
 * upload off the main thread while the main thread keeps parsing HTTP and writing to the store.
 *
 * Bytes reach the threads through a ring of slots in a SharedArrayBuffer: each incoming chunk is
 * copied once into the ring (the chunk itself goes on to the store driver, so it cannot be
 * transferred). Filling a slot costs no message: the main thread bumps the ring's published
 * count and rings the thread's doorbell (an Atomics.notify on a word the idle thread waits on);
 * a thread records each slot it has hashed in its own counter in the ring, which the main thread
 * reads when it needs a slot. Only when the ring is full does the main thread wait: it sets a
 * flag in the ring, and the thread that frees the next slot clears it and posts one message.
 * That is where backpressure comes from.
 * Other messages are left for the rare events (a job opens, ends, is dropped; a digest, an error):
 * the per-slot postMessage and its acknowledgement cost the event loop ~1 CPU s/GiB
 * (bench/RESULTS.md, issue 22).
 *
 * A thread blocks in Atomics.wait while idle and reads its messages with receiveMessageOnPort
 * between slots, so a dropped job stops being hashed within one slot.
 *
 * Rings are kept and reused across jobs: a shared buffer is only freed once every thread's
 * garbage collector has let go of it, and the threads allocate so little that a ring per upload
 * would pile up (measured: +4 MiB RSS per upload, unbounded). A ring goes back to the idle list
 * only once every thread of its job has let go of it (sent its digest, or confirmed a drop).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
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
  /** Bytes per slot, i.e. per doorbell. Default 256 KiB. */
  readonly slotBytes?: number;
  /** Slots in the ring: at most this many slots are being hashed at once. Default 8. */
  readonly slots?: number;
}

/** How a pool spreads a job's algorithms over threads. */
export interface HashWorkerPoolOptions {
  /**
   * Threads one job uses at most; with fewer threads than algorithms, a thread hashes several
   * algorithms over the same slot. Default from the cores available (`defaultThreadsPerJob`).
   */
  readonly threadsPerJob?: number;
  /**
   * Threads in the pool; jobs take turns over them, so concurrent uploads spread over the cores.
   * Default: the cores available, at least `threadsPerJob`, at most 4.
   */
  readonly threads?: number;
}

/** A set of hashing threads shared by concurrent jobs. */
export interface HashWorkerPool {
  /**
   * Starts a job hashing the same bytes with each of `algorithms` (node crypto names), spread
   * over the pool's threads.
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
  /**
   * Tests only: while held, the threads start no new slot (messages are still handled), so a
   * test can fill a ring, or abort a job with slots queued, without racing the threads.
   */
  hold(on: boolean): void;
}

// 256 KiB x 8 measured level with 1 MiB x 4 on a 2-core VM (within noise, 250-260 MiB/s for md5 +
// sha512 fed 64 KiB chunks) at half the memory per concurrent upload.
const DEFAULT_SLOT_BYTES = 256 * 1024;
const DEFAULT_SLOTS = 8;
/** V8 young-generation limit of each hashing thread. */
const YOUNG_GENERATION_MB = 1;
/** Idle rings kept for reuse; more concurrent uploads than this allocate and later free theirs. */
const MAX_IDLE_RINGS = 4;
/** Default ceiling on the pool's threads. */
const MAX_POOL_THREADS = 4;
/** Most threads one job can use (one consumed counter each in the ring's header). */
const MAX_THREADS_PER_JOB = 8;
/**
 * Int32 words in front of a ring's slots: [0] slots published by the main thread, [1..8] slots
 * hashed by each thread of the job, then one length word per slot.
 */
const W_PUBLISHED = 0;
const W_CONSUMED = 1;
/** Set by the main thread when it waits for room; the thread that frees a slot clears it and says so. */
const W_WAITING = W_CONSUMED + MAX_THREADS_PER_JOB;
const W_LENGTHS = W_WAITING + 1;
/** A thread's control words: [0] doorbell (bumped when there is news), [1] stop, [2] hold. */
const CONTROL_WORDS = 3;

/**
 * Threads per job when the caller does not say: one per algorithm only when there are cores to
 * spare for them beside the event loop and the client's traffic; on two cores or fewer, one
 * thread hashes both digests, which costs fewer wake-ups and one pass over each slot (measured in
 * bench/RESULTS.md, issue 22).
 */
export function defaultThreadsPerJob(): number {
  return availableParallelism() > 2 ? 2 : 1;
}

/**
 * The thread's program. Plain JavaScript evaluated by the Worker, so that it runs the same under
 * tsx, compiled output or the `iris-api` launcher (whose TypeScript loader threads do not inherit).
 * Messages in: ring {ring, sab, slotBytes, slots}, forget {ring}, open {job, algos, ring, index},
 * end {job, count}, drop {job}. Messages out: room {job}, digest {job, hex[]}, dropped {job}, error {job, message}.
 */
const THREAD_SOURCE = `
'use strict';
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const control = new Int32Array(workerData.control);
const PUBLISHED = ${W_PUBLISHED}, CONSUMED = ${W_CONSUMED}, WAITING = ${W_WAITING}, LENGTHS = ${W_LENGTHS};
const rings = new Map();
const jobs = new Map();
function fail(id, err) {
  jobs.delete(id);
  parentPort.postMessage({ t: 'error', job: id, message: String((err && err.message) || err) });
}
function handle(m) {
  if (m.t === 'ring') {
    const words = new Int32Array(m.sab, 0, m.header / 4);
    const views = [];
    for (let i = 0; i < m.slots; i++) views.push(new Uint8Array(m.sab, m.header + i * m.slotBytes, m.slotBytes));
    rings.set(m.ring, { words, views, slots: m.slots, slotBytes: m.slotBytes });
  } else if (m.t === 'forget') {
    rings.delete(m.ring);
  } else if (m.t === 'open') {
    try {
      jobs.set(m.job, { hashes: m.algos.map((a) => createHash(a)), ring: rings.get(m.ring), index: m.index, done: 0, end: -1 });
    } catch (err) {
      fail(m.job, err);
    }
  } else if (m.t === 'end') {
    const job = jobs.get(m.job);
    if (job !== undefined) job.end = m.count;
  } else if (m.t === 'drop') {
    // After this reply the thread never touches the job's ring again: it may serve another job.
    jobs.delete(m.job);
    parentPort.postMessage({ t: 'dropped', job: m.job });
  }
}
/** Hashes at most one published slot of the job; true when it did. */
function step(id, job) {
  const ring = job.ring;
  let worked = false;
  try {
    if (job.done < Atomics.load(ring.words, PUBLISHED)) {
      const slot = job.done % ring.slots;
      const length = ring.words[LENGTHS + slot];
      const view = ring.views[slot];
      const bytes = length === ring.slotBytes ? view : view.subarray(0, length);
      for (const hash of job.hashes) hash.update(bytes);
      job.done += 1;
      Atomics.store(ring.words, CONSUMED + job.index, job.done);
      if (Atomics.compareExchange(ring.words, WAITING, 1, 0) === 1) parentPort.postMessage({ t: 'room', job: id });
      worked = true;
    }
    if (job.done === job.end) {
      jobs.delete(id);
      parentPort.postMessage({ t: 'digest', job: id, hex: job.hashes.map((h) => h.digest('hex')) });
    }
  } catch (err) {
    fail(id, err);
  }
  return worked;
}
for (;;) {
  // Read before looking for work: news posted after this read changes it, so the wait below
  // returns at once instead of sleeping through it.
  const bell = Atomics.load(control, 0);
  for (let m = receiveMessageOnPort(parentPort); m !== undefined; m = receiveMessageOnPort(parentPort)) handle(m.message);
  if (Atomics.load(control, 1) !== 0) break;
  let worked = false;
  if (Atomics.load(control, 2) === 0) for (const [id, job] of jobs) if (step(id, job)) worked = true;
  if (!worked) Atomics.wait(control, 0, bell);
}
`;

type ThreadMessage =
  | { readonly t: 'room'; readonly job: number }
  | { readonly t: 'digest'; readonly job: number; readonly hex: string[] }
  | { readonly t: 'dropped'; readonly job: number }
  | { readonly t: 'error'; readonly job: number; readonly message: string };

/** What a thread reports to one job it is working for. */
interface JobListener {
  onMessage(msg: ThreadMessage): void;
  onThreadFailure(err: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly jobs: Map<number, JobListener>;
  /** Rings this thread has been sent. */
  readonly rings: Set<number>;
}

/** Shared memory for one job at a time. */
interface Ring {
  readonly id: number;
  readonly sab: SharedArrayBuffer;
  readonly headerBytes: number;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly slotBytes: number;
  readonly slots: number;
}

/** Tells a thread there is news (a message, a published slot), waking it if it sleeps. */
function ring(t: Thread): void {
  Atomics.add(t.control, 0, 1);
  Atomics.notify(t.control, 0);
}

/**
 * Creates a pool whose threads start on first use and are unreferenced while idle, so an idle
 * pool never keeps the process alive.
 */
export function createHashWorkerPool(poolOpts: HashWorkerPoolOptions = {}): HashWorkerPool {
  const threadsPerJob = Math.max(1, Math.min(MAX_THREADS_PER_JOB, poolOpts.threadsPerJob ?? defaultThreadsPerJob()));
  const poolSize = Math.max(threadsPerJob, poolOpts.threads ?? Math.min(availableParallelism(), MAX_POOL_THREADS));
  /** Where the next job's threads start: jobs take turns over the pool. */
  let nextFirst = 0;
  const threads: (Thread | undefined)[] = [];
  const idleRings: Ring[] = [];
  let nextJob = 1;
  let nextRing = 1;
  let running = 0;

  function thread(index: number): Thread {
    const existing = threads[index];
    if (existing) return existing;
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    // execArgv [] keeps the parent's `--import tsx` out: the thread needs no loader, and skipping
    // it saves start-up time and memory. A 1 MiB young generation: the threads keep almost nothing
    // alive, and V8's default let each grow by tens of MiB of garbage before collecting
    // (measured: peak RSS of 10 concurrent uploads 243 MiB by default, 210 MiB with this).
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { control: control.buffer },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const created: Thread = { worker, control, jobs: new Map(), rings: new Set() };
    const fail = (err: Error) => {
      if (threads[index] === created) threads[index] = undefined;
      const listeners = [...created.jobs.values()];
      created.jobs.clear();
      for (const listener of listeners) listener.onThreadFailure(err);
    };
    worker.on('message', (msg: ThreadMessage) => created.jobs.get(msg.job)?.onMessage(msg));
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
    // Header rounded up to 64 bytes, so the slots start on a cache line.
    const headerBytes = Math.ceil(((W_LENGTHS + slots) * 4) / 64) * 64;
    const sab = new SharedArrayBuffer(headerBytes + slotBytes * slots);
    return {
      id: nextRing++,
      sab,
      headerBytes,
      words: new Int32Array(sab, 0, headerBytes / 4),
      bytes: new Uint8Array(sab, headerBytes),
      slotBytes,
      slots,
    };
  }

  function returnRing(r: Ring): void {
    if (idleRings.length < MAX_IDLE_RINGS) {
      idleRings.push(r);
      return;
    }
    // Let the threads drop their view too, so that the memory can actually be freed.
    for (const t of threads) {
      if (t?.rings.delete(r.id)) {
        t.worker.postMessage({ t: 'forget', ring: r.id });
        ring(t);
      }
    }
  }

  function start(algorithms: readonly string[], ringOpts: RingOptions = {}): HashJob {
    // Fail here, synchronously, rather than as a thread error after data has flowed.
    for (const algo of algorithms) createHash(algo);
    // Algorithm i goes to thread i % n.
    const n = Math.max(1, Math.min(threadsPerJob, algorithms.length));
    const groups = Array.from({ length: n }, (_, t) => algorithms.map((_a, i) => i).filter((i) => i % n === t));
    // Threads first: if one cannot be started, nothing has been taken yet.
    const first = nextFirst;
    const mine = groups.map((_, t) => thread((first + t) % poolSize));
    nextFirst = (first + n) % poolSize;
    const r = takeRing(ringOpts.slotBytes ?? DEFAULT_SLOT_BYTES, ringOpts.slots ?? DEFAULT_SLOTS);
    const { slotBytes, slots, bytes, words } = r;
    // The ring is free (every thread of its last job let go): counters start again from 0.
    words.fill(0, 0, W_LENGTHS);
    const id = nextJob++;
    jobStarted();

    let published = 0;
    let filled = 0;
    let failure: Error | undefined;
    /** Digests in, or failed: the caller's side of the job is over. */
    let finished = false;
    let slotWaiter: { resolve(): void; reject(err: Error): void } | undefined;
    const digests: (string | undefined)[] = algorithms.map(() => undefined);
    let digestsIn = 0;
    let digestWaiter: { resolve(hex: string[]): void; reject(err: Error): void } | undefined;
    /** Threads still holding the ring (not yet sent their digest or confirmed a drop). */
    const holding = mine.map(() => true);
    let holders = mine.length;

    /** Thread `t` has let go of the ring; the last one returns it. */
    function release(t: number): void {
      if (!holding[t]) return;
      holding[t] = false;
      mine[t]!.jobs.delete(id);
      if (--holders === 0) {
        returnRing(r);
        jobEnded();
      }
    }

    mine.forEach((t, index) => {
      t.jobs.set(id, {
        onMessage(msg) {
          if (msg.t === 'room') {
            waitForRoom();
          } else if (msg.t === 'digest') {
            groups[index]!.forEach((algo, k) => (digests[algo] = msg.hex[k]));
            release(index);
            digestsIn += 1;
            if (digestsIn === mine.length && !finished) {
              finished = true;
              digestWaiter?.resolve(digests as string[]);
            }
          } else if (msg.t === 'dropped') {
            release(index);
          } else {
            release(index);
            stop(new Error(`Hashing ${groups[index]!.map((i) => algorithms[i]).join('+')} failed: ${msg.message}`));
          }
        },
        onThreadFailure(err) {
          release(index);
          stop(err);
        },
      });
      if (!t.rings.has(r.id)) {
        t.rings.add(r.id);
        t.worker.postMessage({ t: 'ring', ring: r.id, sab: r.sab, header: r.headerBytes, slotBytes, slots });
      }
      t.worker.postMessage({ t: 'open', job: id, algos: groups[index]!.map((i) => algorithms[i]), ring: r.id, index });
      ring(t);
    });

    /** Ends the job early, telling the threads to skip its queued slots. */
    function stop(err: Error): void {
      if (finished) return;
      finished = true;
      failure = err;
      mine.forEach((t, index) => {
        if (!holding[index]) return;
        t.worker.postMessage({ t: 'drop', job: id });
        ring(t);
      });
      slotWaiter?.reject(err);
      slotWaiter = undefined;
      digestWaiter?.reject(err);
      digestWaiter = undefined;
    }

    /** Slots hashed by the slowest thread, and which thread that is. */
    function slowest(): { index: number; done: number } {
      let index = 0;
      let done = Atomics.load(words, W_CONSUMED);
      for (let t = 1; t < mine.length; t++) {
        const d = Atomics.load(words, W_CONSUMED + t);
        if (d < done) {
          done = d;
          index = t;
        }
      }
      return { index, done };
    }

    function dispatch(): void {
      words[W_LENGTHS + (published % slots)] = filled;
      published += 1;
      // The store publishes the length and the bytes before it (Atomics are sequentially consistent).
      Atomics.store(words, W_PUBLISHED, published);
      for (const t of mine) ring(t);
      filled = 0;
    }

    /** Resolves `slotWaiter` once the slowest thread has freed a slot. */
    function waitForRoom(): void {
      if (finished || slotWaiter === undefined) return;
      const { done } = slowest();
      if (published - done < slots) {
        const waiter = slotWaiter;
        slotWaiter = undefined;
        waiter.resolve();
        return;
      }
      // Ask for a message once a slot is freed, then look again: a slot freed in between is seen
      // here, or by the thread, which then finds the flag set (both sides are sequentially consistent).
      Atomics.store(words, W_WAITING, 1);
      if (published - slowest().done < slots) {
        Atomics.store(words, W_WAITING, 0);
        waitForRoom();
      }
    }

    function update(chunk: Uint8Array): Promise<void> | undefined {
      if (failure) return Promise.reject(failure);
      if (finished || digestWaiter) return Promise.reject(new Error('HashJob: update after digest'));
      let at = 0;
      while (at < chunk.length) {
        if (filled === 0 && published - slowest().done >= slots) {
          const rest = chunk.subarray(at);
          const room = new Promise<void>((resolve, reject) => {
            slotWaiter = { resolve, reject };
          });
          waitForRoom();
          return room.then(() => update(rest));
        }
        const n = Math.min(slotBytes - filled, chunk.length - at);
        bytes.set(chunk.subarray(at, at + n), (published % slots) * slotBytes + filled);
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
      const result = new Promise<string[]>((resolve, reject) => {
        digestWaiter = { resolve, reject };
      });
      for (const t of mine) {
        t.worker.postMessage({ t: 'end', job: id, count: published });
        ring(t);
      }
      return result;
    }

    function abort(reason: Error = new Error('Hashing aborted')): void {
      stop(reason);
    }

    return { update, digest, abort };
  }

  async function close(): Promise<void> {
    const all = threads.splice(0).filter((t): t is Thread => t !== undefined);
    idleRings.length = 0;
    for (const t of all) {
      Atomics.store(t.control, 1, 1);
      ring(t);
    }
    await Promise.all(all.map((t) => t.worker.terminate()));
  }

  function hold(on: boolean): void {
    for (let t = 0; t < poolSize; t++) {
      const th = thread(t);
      Atomics.store(th.control, 2, on ? 1 : 0);
      ring(th);
    }
  }

  return { start, close, hold };
}

let shared: HashWorkerPool | undefined;

/** The process-wide pool (one per process, so one per cluster worker). */
export function sharedHashWorkerPool(): HashWorkerPool {
  shared ??= createHashWorkerPool();
  return shared;
}
