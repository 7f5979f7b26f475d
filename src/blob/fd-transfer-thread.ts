/**
 * A transfer thread (see fd-transfer.ts): moves the bytes of one upload from a client's socket
 * into a file with plain read/write calls on the two descriptors, the way Glance's one thread per
 * request does. Hashing, the format
 * observer and the writeback hints run here too, in the same pass, so the event loop sees one
 * message per transfer instead of sixteen thousand 64 KiB chunks per GiB.
 *
 * The socket stays non-blocking (libuv's setting; the event loop has stopped watching it): a
 * read that would block waits in poll(2), in slices short enough to notice the main
 * thread's abort flag, and gives up after the idle limit.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import koffi from 'koffi';
import type { DigestRequest, ReceiveRequest, ThreadReply, ThreadRequest, TransferFailure } from './fd-transfer.js';

const POLLIN = 0x001;
/** sync_file_range(2): start writeback of the range, do not wait for it. */
const SYNC_FILE_RANGE_WRITE = 2;
/** How often a wait in poll looks at the abort flag. */
const POLL_SLICE_MS = 200;
/** Bytes per read from the socket: large reads, few calls. */
const BUFFER_BYTES = 1024 * 1024;

interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

const libc = koffi.load('libc.so.6');
koffi.struct('iris_pollfd', { fd: 'int', events: 'short', revents: 'short' });
const poll = libc.func('int poll(_Inout_ iris_pollfd *fds, unsigned long nfds, int timeout)') as (fds: PollFd, n: number, timeout: number) => number;
const syncFileRange = libc.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)') as (
  fd: number,
  offset: number,
  nbytes: number,
  flags: number,
) => number;

const buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);

/** A transfer that ended early, with what the main thread needs to say why. */
class Failure extends Error {
  constructor(
    readonly failure: TransferFailure,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Bytes the current transfer read from the socket (reported with a failure too). */
let socketBytes = 0;

/** Waits until `fd` is ready for `events`, watching the abort flag; throws on idle or abort. */
function waitFor(fd: number, events: number, idleMs: number, abort: Int32Array): void {
  const started = Date.now();
  const pfd: PollFd = { fd, events, revents: 0 };
  for (;;) {
    if (Atomics.load(abort, 0) !== 0) throw new Failure('aborted', 'the transfer was aborted');
    pfd.revents = 0;
    const ready = poll(pfd, 1, POLL_SLICE_MS);
    // Readable, writable, or an error/hang-up the next read or write reports.
    if (ready > 0) return;
    if (idleMs > 0 && Date.now() - started >= idleMs) throw new Failure('idle', `no progress for ${idleMs} ms`);
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

/** Reads what the socket has, up to `length` bytes, into `into`: -1 when it has nothing yet, 0 at its end. */
function readSocket(fd: number, into: Buffer, offset: number, length: number): number {
  try {
    return readSync(fd, into, offset, length, null);
  } catch (err) {
    if (errnoOf(err) === 'EAGAIN') return -1;
    throw new Failure('source', `reading the socket failed: ${(err as Error).message}`, errnoOf(err));
  }
}

/** Writes all of `data` to the file at `position`. */
function writeFile(fd: number, data: Buffer, position: number): void {
  let done = 0;
  try {
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
  } catch (err) {
    throw new Failure('sink', (err as Error).message, errnoOf(err));
  }
}

interface Observer {
  chunk(data: Buffer): void;
  finish(): unknown;
}

/** md5, the multihash and the observer over the bytes of one transfer, in order. */
async function digests(req: Pick<ReceiveRequest, 'hashAlgo' | 'observer'>) {
  const md5: Hash | undefined = req.hashAlgo === null ? undefined : createHash('md5');
  const multihash: Hash | undefined = req.hashAlgo === null ? undefined : createHash(req.hashAlgo);
  let observer: Observer | undefined;
  if (req.observer) {
    const mod = (await import(req.observer.module)) as { createObserver(options: unknown): Observer };
    observer = mod.createObserver(req.observer.options);
  }
  return {
    update(data: Buffer): void {
      md5?.update(data);
      multihash?.update(data);
      observer?.chunk(data);
    },
    /** The reply's digests and verdict. */
    finish() {
      const observed = observer?.finish();
      return {
        md5: md5 ? md5.digest('hex') : null,
        multihash: multihash ? multihash.digest('hex') : null,
        ...(observed !== undefined ? { observed } : {}),
      };
    },
  };
}

async function receive(req: ReceiveRequest, abort: Int32Array): Promise<ThreadReply> {
  const hashes = await digests(req);
  let position = 0;
  let flushedUpTo = 0;
  const take = (data: Buffer) => {
    hashes.update(data);
    writeFile(req.fileFd, data, position);
    position += data.length;
    // Start writeback as the data arrives, so the caller's final fsync finds little left (a
    // hint: should it fail, only the timing changes).
    if (req.flushBytes > 0 && position - flushedUpTo >= req.flushBytes) {
      syncFileRange(req.fileFd, flushedUpTo, position - flushedUpTo, SYNC_FILE_RANGE_WRITE);
      flushedUpTo = position;
    }
  };
  for (const head of req.head) take(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
  let remaining = req.length - position;
  while (remaining > 0) {
    let filled = 0;
    // Fill the buffer from what the socket has; hash and write once it is full or the socket is dry.
    while (filled < buffer.length && remaining > 0) {
      const n = readSocket(req.socketFd, buffer, filled, Math.min(buffer.length - filled, remaining));
      if (n < 0) {
        if (filled > 0) break;
        waitFor(req.socketFd, POLLIN, req.idleMs, abort);
        continue;
      }
      if (n === 0) throw new Failure('eof', `the client closed its side after ${position + filled} of ${req.length} bytes`);
      filled += n;
      remaining -= n;
      socketBytes += n;
    }
    take(buffer.subarray(0, filled));
    if (Atomics.load(abort, 0) !== 0) throw new Failure('aborted', 'the transfer was aborted');
  }
  return { ok: true, bytes: position, socketBytes, ...hashes.finish() };
}

/** Reads a file from offset 0 to `length` and hashes it: no socket, no writes. */
async function digest(req: DigestRequest, abort: Int32Array): Promise<ThreadReply> {
  const hashes = await digests(req);
  let position = 0;
  while (position < req.length) {
    let n: number;
    try {
      n = readSync(req.fileFd, buffer, 0, Math.min(buffer.length, req.length - position), position);
    } catch (err) {
      throw new Failure('source', `reading the file failed: ${(err as Error).message}`, errnoOf(err));
    }
    if (n === 0) throw new Failure('eof', `the file ended after ${position} of ${req.length} bytes`);
    hashes.update(buffer.subarray(0, n));
    position += n;
    if (Atomics.load(abort, 0) !== 0) throw new Failure('aborted', 'the transfer was aborted');
  }
  return { ok: true, bytes: position, socketBytes: 0, ...hashes.finish() };
}

async function run(message: ThreadRequest): Promise<ThreadReply> {
  const abort = new Int32Array(message.abort);
  socketBytes = 0;
  try {
    return message.kind === 'receive' ? await receive(message, abort) : await digest(message, abort);
  } catch (err) {
    if (err instanceof Failure) return { ok: false, failure: err.failure, message: err.message, socketBytes, ...(err.code ? { code: err.code } : {}) };
    return { ok: false, failure: 'internal', message: err instanceof Error ? (err.stack ?? err.message) : String(err), socketBytes };
  } finally {
    // The descriptor is the main thread's duplicate, given to this transfer alone.
    closeSync(message.kind === 'receive' ? message.socketFd : message.fileFd);
  }
}

/** Entry point (called by the bootstrap in fd-transfer.ts): one transfer at a time, in order. */
export function start(): void {
  if (!parentPort) throw new Error('fd-transfer-thread must run in a worker thread');
  const port = parentPort;
  port.on('message', (message: ThreadRequest) => {
    void run(message).then((reply) => port.postMessage(reply));
  });
  // Loaded (koffi and libc included): the pool may now hand this thread a socket.
  port.postMessage({ ready: true });
}
