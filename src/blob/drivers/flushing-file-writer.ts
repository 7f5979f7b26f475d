/**
 * Writes a stream into an open file durably, with the flush overlapped with the data.
 *
 * The chunks of the source (64 KiB each from an HTTP body) are copied into two reused buffers
 * of `batchBytes`, each written with one `write` at offsets that are multiples of the batch size
 * while the other fills. Every `flushBytes` a `fdatasync` starts on the
 * libuv pool and the writing goes on meanwhile, so that when the last byte arrives only the dirty
 * tail (at most about two flush intervals) is left to flush before the caller may answer; with a
 * single fsync at the end the whole image is flushed after the last byte (measured in the issue:
 * 512 MiB, 330-347 MiB/s without fsync, 194-231 with one at the end, 233-281 flushing as it
 * goes). The last step is a full `fsync`, so the file's size is on disk too.
 *
 * This replaces `fs.WriteStream`, whose per-chunk bookkeeping (one queued write request per
 * chunk) cost event-loop CPU for nothing here.
 */
import type { FileHandle } from 'node:fs/promises';
import { finished } from 'node:stream';
import type { Readable } from 'node:stream';

export interface FlushingWriteOptions {
  /** Bytes per `write` (each of the two batch buffers holds this many). */
  readonly batchBytes: number;
  /** Bytes between two data flushes; 0 flushes only at the end. */
  readonly flushBytes: number;
  readonly signal?: AbortSignal;
}

/**
 * Writes everything `source` yields into `handle` from offset 0 and flushes it to disk; resolves
 * with the byte count once data and size are durable. Rejects (after the writes and flushes in
 * flight have settled, so the caller may close and remove the file) when the source fails, the
 * signal aborts or the disk does; `source` is destroyed then. The handle stays open either way.
 */
export async function writeAndFlush(handle: FileHandle, source: Readable, opts: FlushingWriteOptions): Promise<number> {
  let position = 0;
  let flushedUpTo = 0;
  let writing: Promise<void> | undefined;
  let flushing: Promise<void> | undefined;
  /** The first failed write or flush, or the source's error. */
  let failure: unknown;
  /** The two batch buffers: one filling while the other is written. */
  const free: Buffer[] = [Buffer.allocUnsafeSlow(opts.batchBytes), Buffer.allocUnsafeSlow(opts.batchBytes)];
  let filling: Buffer | undefined;
  let filled = 0;
  /** A full batch waiting for the write in flight (one write at a time keeps offsets in order). */
  let ready: { buffer: Buffer; length: number } | undefined;
  /** The part of a chunk that found no free buffer; the source is paused meanwhile. */
  let leftover: Buffer | undefined;
  let ended = false;
  let settle!: { resolve(): void; reject(err: unknown): void };
  const consumed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));

  /** Starts a background fdatasync when a flush interval has filled and none is running. */
  const maybeFlush = () => {
    if (opts.flushBytes <= 0 || flushing || position - flushedUpTo < opts.flushBytes) return;
    const upTo = position;
    flushing = handle.datasync().then(
      () => {
        flushedUpTo = upTo;
        flushing = undefined;
      },
      (err: unknown) => {
        // A failed flush means the data may not be on disk: the write fails.
        fail(err);
        flushing = undefined;
      },
    );
  };

  function fail(err: unknown): void {
    if (failure !== undefined) return;
    failure = err;
    // As pipeline would: a consumer that gives up destroys its source.
    if (!source.destroyed) source.destroy(err instanceof Error ? err : new Error(String(err)));
    settle.reject(err);
  }

  /**
   * Writes the ready batch when nothing is being written (once the data has ended, the last,
   * partial batch too); takes up the leftover once a buffer is free.
   */
  function pump(): void {
    if (writing || failure !== undefined) return;
    if (ready === undefined && ended && leftover === undefined && filling !== undefined && filled > 0) {
      ready = { buffer: filling, length: filled };
      filling = undefined;
      filled = 0;
    }
    if (ready === undefined) {
      if (ended && leftover === undefined) settle.resolve();
      return;
    }
    const { buffer, length } = ready;
    ready = undefined;
    const at = position;
    position += length;
    writing = writeFully(handle, buffer, length, at).then(
      () => {
        writing = undefined;
        free.push(buffer);
        maybeFlush();
        // The batch waiting goes first; the freed buffer then takes the leftover.
        pump();
        if (leftover !== undefined) {
          const rest = leftover;
          leftover = undefined;
          take(rest);
          if (leftover === undefined) source.resume();
        }
      },
      (err: unknown) => {
        writing = undefined;
        fail(err);
      },
    );
  }

  /**
   * Copies `chunk` into the batch buffers, handing each full one to `pump`. What finds no free
   * buffer is kept as the leftover. The chunks are copied, not kept: a chunk that dies at once
   * is the cheapest garbage there is, while chunks held until their batch was written lived long
   * enough to reach V8's old generation, whose collection then cost the GC threads up to
   * 2 CPU s/GiB (bench/RESULTS.md, issue 22).
   */
  function take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (filling === undefined) {
        filling = free.pop();
        if (filling === undefined) {
          leftover = chunk.subarray(at);
          return;
        }
      }
      const n = Math.min(opts.batchBytes - filled, chunk.length - at);
      chunk.copy(filling, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === opts.batchBytes) {
        ready = { buffer: filling, length: filled };
        filling = undefined;
        filled = 0;
        pump();
      }
    }
  }

  // Flowing mode hands over the chunks one by one, as they came; an async iterator would call
  // read(), which concatenates everything buffered into a new Buffer each time.
  const onData = (chunk: Buffer) => {
    take(chunk);
    // Both buffers busy: stop the source until a write is out.
    if (leftover !== undefined) source.pause();
  };
  const onEnd = () => {
    ended = true;
    pump();
  };
  const stopWatching = finished(source, { writable: false }, (err) => {
    if (err) fail(err);
  });
  const stopAbort = opts.signal ? abortOn(opts.signal, source) : undefined;

  try {
    source.on('data', onData);
    source.once('end', onEnd);
    await consumed;
  } finally {
    source.off('data', onData);
    source.off('end', onEnd);
    stopWatching();
    stopAbort?.();
    // Nothing may still be writing to or flushing the file when the caller closes or removes it.
    await writing;
    await flushing;
  }
  if (failure !== undefined) throw failure;
  // fsync, not fdatasync: the size and the rest of the inode must be durable too.
  await handle.sync();
  return position;
}

/** Destroys `source` with an AbortError when `signal` aborts (at once if it already has); returns the undo. */
function abortOn(signal: AbortSignal, source: Readable): () => void {
  const onAbort = () => {
    source.destroy(new DOMException('The operation was aborted', 'AbortError'));
  };
  if (signal.aborted) {
    onAbort();
    return () => undefined;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Writes `buffer[0..length)` at `at` until all of it is in the file (a short write is retried with the rest). */
async function writeFully(handle: FileHandle, buffer: Buffer, length: number, at: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await handle.write(buffer, done, length - done, at + done);
    if (bytesWritten === 0) throw new Error('The disk accepted no bytes of a write');
    done += bytesWritten;
  }
}
