/**
 * The stream the filesystem driver serves an image from: a Readable over a byte range of an open
 * file that owns the descriptor (closed on end, error or destroy, whatever the consumer does).
 *
 * Piped into a destination that hands written chunks back (an HTTP response the HTTP layer marked
 * with RELEASES_WRITTEN_CHUNKS, blob-driver.ts), it does not go through the stream machinery: it
 * reads the file into two buffers in turn and writes each straight to the destination, reusing a
 * buffer once the destination is done with it. An ordinary Readable allocates a new buffer
 * for every chunk, a thousand 1 MiB buffers per GiB for V8 to collect; depending on the state of
 * Iris's heap that either costs little or sets off a mark-compact every 30-40 MiB (`--trace-gc`),
 * which then takes as much CPU as the copying. Measured with bench/download.ts on the 2-core VM
 * (1 GiB, server CPU seconds per GiB): piped 0.45-0.51, or 1.2-1.34 with the collector busy;
 * direct 0.38-0.45, at 1.3-3x the throughput.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { releasesWrittenChunks, type ChunkReleasingWritable } from '../blob-driver.js';

export interface FileReadStreamOptions {
  /** First byte to read. Default 0. */
  readonly start?: number;
  /** Last byte to read, inclusive (as in `fs.createReadStream`). */
  readonly end: number;
  /** Bytes per read. */
  readonly chunkSize: number;
  /**
   * Sees every chunk before it is sent and has the last word before the final one goes out
   * (the image cache's integrity check): when `intact()` is false the stream fails instead of
   * sending its last chunk, so a reader never gets a complete body of wrong bytes.
   */
  readonly verifier?: ChunkVerifier;
}

/** See `FileReadStreamOptions.verifier`. `chunk` must not keep the buffer (it is reused). */
export interface ChunkVerifier {
  chunk(data: Buffer): void;
  intact(): boolean;
}

/**
 * Buffers in flight on the direct path: one being written to the socket while the next is read
 * from the file. A third measured no faster, nor did four of 256 KiB.
 */
const DIRECT_BUFFERS = 2;

/**
 * A Readable of bytes `start..end` of `handle`, which it closes once done. When the file ends
 * before `end` (it was truncated behind our back) the stream fails rather than end short, so an
 * HTTP client sees a broken transfer and not a body shorter than its Content-Length.
 *
 * `pipe(res)` into a destination marked RELEASES_WRITTEN_CHUNKS takes the direct path described
 * above; any other destination gets the ordinary `Readable.prototype.pipe`. Once the last chunk is
 * handed to the destination, the direct path ends the Readable, then the destination (unless
 * `{ end: false }`), as a pipe would; a destination closed early (client gone) stops it, and so
 * does destroying the stream.
 *
 * @example
 * const stream = new FileReadStream(await open(path), { end: size - 1, chunkSize: 1 << 20 });
 * stream.pipe(res); // direct when res carries RELEASES_WRITTEN_CHUNKS
 */
export class FileReadStream extends Readable {
  readonly #handle: FileHandle;
  readonly #end: number;
  readonly #chunkSize: number;
  readonly #verifier: ChunkVerifier | undefined;
  #position: number;
  /** A read from the file is in flight (the handle must not be closed under it). */
  #reading: Promise<unknown> | undefined;
  /** Set once the direct path has taken over: `_read` must then never push anything. */
  #direct = false;
  /** Wakes the direct path when it waits for a buffer and the stream or response goes away. */
  #wake: (() => void) | undefined;

  constructor(handle: FileHandle, opts: FileReadStreamOptions) {
    super({ highWaterMark: opts.chunkSize });
    this.#handle = handle;
    this.#position = opts.start ?? 0;
    this.#end = opts.end + 1;
    this.#chunkSize = opts.chunkSize;
    this.#verifier = opts.verifier;
  }

  /** Feeds the verifier; throws before the last chunk when the data is not intact. */
  #verify(chunk: Buffer, last: boolean): void {
    if (this.#verifier === undefined) return;
    this.#verifier.chunk(chunk);
    if (last && !this.#verifier.intact()) throw new Error('The file does not match its recorded checksum');
  }

  override _read(): void {
    if (this.#direct) return;
    const length = Math.min(this.#chunkSize, this.#end - this.#position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafeSlow(length);
    const reading = this.#handle.read(buffer, 0, length, this.#position);
    this.#reading = reading;
    reading.then(
      ({ bytesRead }) => {
        this.#reading = undefined;
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.destroy(truncated());
          return;
        }
        this.#position += bytesRead;
        const chunk = bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
        try {
          this.#verify(chunk, this.#position >= this.#end);
        } catch (e) {
          this.destroy(e as Error);
          return;
        }
        this.push(chunk);
      },
      (err: unknown) => {
        this.#reading = undefined;
        this.destroy(err as Error);
      },
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#wake?.();
    // A read still in flight would otherwise land on a closed (and maybe reused) descriptor.
    const pending = this.#reading ?? Promise.resolve();
    pending
      // The read's own error already reached the stream; this only waits for it to settle.
      .catch(() => undefined)
      .then(() => this.#handle.close())
      .then(
        () => callback(err),
        (closeErr: unknown) => callback(err ?? (closeErr as Error)),
      );
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (!releasesWrittenChunks(destination) || this.#direct || this.readableFlowing !== null) {
      return super.pipe(destination, options);
    }
    this.#direct = true;
    void this.#sendTo(destination, options?.end !== false);
    return destination;
  }

  /** The direct path: file → two reused buffers → `res`, until done, failed or abandoned. */
  async #sendTo(res: ChunkReleasingWritable, endResponse: boolean): Promise<void> {
    let gone = false;
    const onClose = () => {
      gone = true;
      this.#wake?.();
    };
    res.once('close', onClose);
    const free: Buffer[] = [];
    let allocated = 0;
    try {
      while (this.#position < this.#end) {
        let buffer = free.pop();
        if (buffer === undefined && allocated < DIRECT_BUFFERS) {
          buffer = Buffer.allocUnsafeSlow(Math.min(this.#chunkSize, this.#end - this.#position));
          allocated += 1;
        }
        if (buffer === undefined) {
          // Both buffers are with the socket: wait until it hands one back (or all is over).
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          if (gone || this.destroyed) return;
          continue;
        }
        if (gone || this.destroyed) return;
        const length = Math.min(buffer.length, this.#end - this.#position);
        const reading = this.#handle.read(buffer, 0, length, this.#position);
        this.#reading = reading;
        const { bytesRead } = await reading;
        this.#reading = undefined;
        if (gone || this.destroyed) return;
        if (bytesRead === 0) throw truncated();
        this.#position += bytesRead;
        this.#verify(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead), this.#position >= this.#end);
        const chunk = buffer;
        // The callback runs once the socket has taken every byte (or failed): only then may the
        // buffer be filled again. A failed write ends the response; the 'close' stops us.
        res.write(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead), (err?: Error | null) => {
          if (err) return;
          free.push(chunk);
          this.#wake?.();
        });
      }
      // End the Readable first and the response on its 'end', in the order a pipe keeps: Fastify
      // destroys a source that has not ended when the response finishes.
      if (endResponse) this.once('end', () => res.end());
      this.push(null);
      this.resume();
    } catch (err) {
      this.#reading = undefined;
      if (!this.destroyed) this.destroy(err as Error);
    } finally {
      res.off('close', onClose);
    }
  }
}

function truncated(): Error {
  return new Error('The image file is shorter than its recorded size');
}
