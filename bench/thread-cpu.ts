/**
 * CPU time by thread of a server's process tree, from /proc/<pid>/task/<tid>/stat (utime and
 * stime, in clock ticks), so a benchmark can say where each GiB's CPU seconds go.
 *
 * Node 20 leaves every thread named "node", so threads are told apart by what they are doing
 * while the server is idle (`classifyThreads`, called between measurements):
 * - the main thread (tid = pid): the event loop;
 * - the first threads Node starts, before any JavaScript runs: V8's platform workers (GC
 *   helpers, concurrent compilation) and its delayed-task scheduler;
 * - later threads idle in epoll_wait run an event loop of their own: worker_threads (tsx's module
 *   loader, present from the start; Iris's transfer threads, which read, hash and write a whole
 *   body, started by the first large upload or download);
 * - later threads idle in a futex shared with another idle thread: libuv's thread pool (file
 *   reads, writes, fsync), whose threads all wait on one condition variable;
 * - later threads idle alone on a futex: worker_threads sleeping in Atomics.wait (Iris's hashing
 *   threads since they take their work from a doorbell, not from messages).
 * Both kinds of Iris threads are reported together as "hash/transfer threads".
 * Other processes of the tree (Glance's uwsgi master and worker) are reported per process.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { processTree } from './servers.js';

/** Clock ticks per second for /proc times. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** Threads Node 20 starts before the first line of JavaScript: 4 V8 platform workers and the delayed-task scheduler (two spare). */
const PLATFORM_THREADS = 6;
const EPOLL_SYSCALLS = new Set(['232', '281', '441']); // epoll_wait, epoll_pwait, epoll_pwait2 (x86_64)
const FUTEX_SYSCALL = '202'; // x86_64

/** The syscall number and first argument a thread is blocked in ('' when unreadable). */
function blockedIn(pid: number, tid: number): { syscall: string; arg: string } {
  try {
    const [syscall = '', arg = ''] = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ');
    return { syscall, arg };
  } catch {
    return { syscall: '', arg: '' };
  }
}

/** A futex address rounded to its 64-byte line (glibc condition variables wait on two nearby words). */
function futexLine(arg: string): string {
  return (BigInt(arg) >> 6n).toString(16);
}

export type ThreadGroup = string;

/** CPU seconds of each thread, by `pid/tid`. */
export type CpuSnapshot = Map<string, { pid: number; tid: number; user: number; sys: number }>;

export function snapshot(rootPid: number): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of processTree(rootPid)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}`, { pid, tid: Number(tid), user: Number(fields[11]) / TICKS, sys: Number(fields[12]) / TICKS });
      } catch {
        // The thread ended while we looked.
      }
    }
  }
  return out;
}

/** What each thread of a Node process tree is, decided while it is idle (see the module comment). */
export class ThreadClassifier {
  readonly #groups = new Map<string, ThreadGroup>();
  readonly #startup = new Set<string>();
  #first = true;

  constructor(readonly rootPid: number, readonly kind: 'node' | 'other') {}

  /** Looks at threads not yet classified. Call while the server is idle. */
  classify(): void {
    for (const pid of processTree(this.rootPid)) {
      let tids: number[];
      try {
        tids = readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
      } catch {
        continue;
      }
      // Futex lines more than one idle thread waits on: a shared condition variable (libuv's pool).
      const waiting = new Map<number, string>();
      const sharers = new Map<string, number>();
      for (const tid of tids) {
        const { syscall, arg } = blockedIn(pid, tid);
        if (syscall !== FUTEX_SYSCALL || !arg.startsWith('0x')) continue;
        const line = futexLine(arg);
        waiting.set(tid, line);
        sharers.set(line, (sharers.get(line) ?? 0) + 1);
      }
      for (const [index, tid] of tids.entries()) {
        const key = `${pid}/${tid}`;
        if (this.#groups.has(key)) continue;
        if (this.#first) this.#startup.add(key);
        const line = waiting.get(tid);
        const alone = line !== undefined && sharers.get(line) === 1;
        this.#groups.set(key, this.#decide(pid, tid, index, key, alone));
      }
    }
    this.#first = false;
  }

  #decide(pid: number, tid: number, index: number, key: string, aloneOnFutex: boolean): ThreadGroup {
    const proc = pid === this.rootPid ? '' : `pid ${pid} `;
    if (this.kind === 'other') return tid === pid ? `${proc}main thread` : `${proc}other threads`;
    if (tid === pid) return `${proc}event loop`;
    if (index <= PLATFORM_THREADS) return `${proc}V8 platform (GC)`;
    const { syscall } = blockedIn(pid, tid);
    if (EPOLL_SYSCALLS.has(syscall)) return this.#startup.has(key) ? `${proc}loader worker (tsx)` : `${proc}hash/transfer threads`;
    if (aloneOnFutex && !this.#startup.has(key)) return `${proc}hash/transfer threads`;
    return `${proc}libuv pool`;
  }

  groupOf(key: string): ThreadGroup {
    return this.#groups.get(key) ?? 'unclassified (new during the run)';
  }
}

/** CPU seconds spent between two snapshots, by thread group; `total` is the sum. */
export interface CpuByGroup {
  readonly groups: Map<ThreadGroup, { user: number; sys: number }>;
  readonly total: number;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, classifier: ThreadClassifier): CpuByGroup {
  const groups = new Map<ThreadGroup, { user: number; sys: number }>();
  let total = 0;
  for (const [key, b] of after) {
    const a = before.get(key) ?? { user: 0, sys: 0 };
    const user = b.user - a.user;
    const sys = b.sys - a.sys;
    if (user === 0 && sys === 0) continue;
    const group = classifier.groupOf(key);
    const g = groups.get(group) ?? { user: 0, sys: 0 };
    g.user += user;
    g.sys += sys;
    groups.set(group, g);
    total += user + sys;
  }
  return { groups, total };
}
