/**
 * Who is writing a partial write: this node (a digest of its host name, so no name leaks into
 * object names) and process. At start a node removes the partial writes of its own processes
 * that are gone at once (a crash leaves nothing behind until the next day), and everyone
 * else's only when they are older than partial_write_max_age: they may be a live node's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface WriterIdentity {
  /** 12 hex digits identifying the host. */
  readonly node: string;
  readonly pid: number;
}

const LOCAL_NODE = createHash('sha256').update(hostname()).digest('hex').slice(0, 12);
const WRITER = /^([0-9a-f]{12})-([1-9][0-9]{0,9})$/;

/** This process, as drivers record it in the names of their partial writes. */
export function currentWriter(): WriterIdentity {
  return { node: LOCAL_NODE, pid: process.pid };
}

/** `<node>-<pid>`: safe in file and object names. */
export function formatWriter(writer: WriterIdentity): string {
  return `${writer.node}-${writer.pid}`;
}

/** The writer recorded by `formatWriter`, or undefined for anything else. */
export function parseWriter(text: string): WriterIdentity | undefined {
  const m = WRITER.exec(text);
  return m ? { node: m[1]!, pid: Number(m[2]) } : undefined;
}

/**
 * True when `writer` was a process of this node that no longer runs. A reused pid reads as
 * alive, which only defers the clean-up to the age limit.
 */
export function isDeadLocalWriter(writer: WriterIdentity): boolean {
  if (writer.node !== LOCAL_NODE || writer.pid === process.pid) return false;
  return isProcessGone(writer.pid);
}

/** True when no process of this host runs as `pid` (none, or an exited one not reaped yet). */
export function isProcessGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return isZombie(pid);
}

/**
 * A process that has exited but was not reaped yet still answers kill(pid, 0). The cluster
 * workers of a killed primary are such zombies until the system's init reaps them, which a
 * container's init may do late or never; a node restarted at once then took its dead workers'
 * uploads for live ones. Linux says so in /proc/<pid>/stat (state Z, or X while being reaped);
 * elsewhere, or when it cannot be read, the process counts as running.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    // Gone between the two looks: dead; anything else (no /proc): running, as kill(0) said.
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}
