/**
 * The one pass over uploaded image data: a pass-through Transform that counts bytes, enforces
 * the size cap and the declared length, and feeds md5 (Glance's `checksum`) and the configured
 * multihash (`os_hash_value`) together. It fails before its readable side ends, so a driver
 * reading from it never commits data that broke a rule.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { Invalid, TooLarge } from '../domain/errors.js';

/** The digests of everything passed to a `Digester`, as lower-case hex. */
export interface Digests {
  readonly md5: string;
  readonly multihash: string;
}

/**
 * Incremental hashing. Kept behind this small seam so that moving the work to worker threads
 * only replaces `createDigester`: `update` may hand the chunk off, `digest` waits for the result.
 * Callers must not modify a chunk after passing it to `update`.
 */
export interface Digester {
  update(chunk: Buffer): void;
  digest(): Promise<Digests>;
}

/**
 * A digester computing md5 and `hashAlgo` (any node crypto name, e.g. `sha512`).
 * @throws Error when `hashAlgo` is not supported by node's crypto (a configuration error).
 */
export function createDigester(hashAlgo: string): Digester {
  const md5: Hash = createHash('md5');
  const multihash: Hash = createHash(hashAlgo);
  return {
    update(chunk) {
      md5.update(chunk);
      multihash.update(chunk);
    },
    digest() {
      return Promise.resolve({ md5: md5.digest('hex'), multihash: multihash.digest('hex') });
    },
  };
}

export interface HashingOptions {
  /** Node crypto name of the multihash (Glance's `hashing_algorithm`). */
  readonly hashAlgo: string;
  /** TooLarge as soon as more than this many bytes have passed. */
  readonly sizeCap: number;
  /** Declared length; Invalid when the data turns out longer or shorter. */
  readonly expectedSize?: number;
  /** Buffering on each side of the transform, in bytes. */
  readonly highWaterMark?: number;
}

/** What a finished `HashingStream` saw. */
export interface HashedData extends Digests {
  readonly size: number;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Pass-through stream that hashes, counts and checks sizes. Chunks are forwarded as they are
 * (no copies). Errors it raises: `TooLarge` past `sizeCap`, `Invalid` when the data is longer
 * or shorter than `expectedSize`.
 */
export class HashingStream extends Transform {
  readonly #digester: Digester;
  readonly #sizeCap: number;
  readonly #expectedSize: number | undefined;
  #bytes = 0;
  #result: HashedData | undefined;

  constructor(opts: HashingOptions, digester: Digester = createDigester(opts.hashAlgo)) {
    const highWaterMark = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    super({ readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
    this.#digester = digester;
    this.#sizeCap = opts.sizeCap;
    this.#expectedSize = opts.expectedSize;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Size and digests, available once the stream has ended (after its `end` event, or once a
   * consumer has read everything).
   * @throws Error when read before the stream has finished.
   */
  get result(): HashedData {
    if (this.#result === undefined) throw new Error('HashingStream: result read before the data ended');
    return this.#result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = this.#bytes + chunk.length;
    this.#bytes = bytes;
    // Checked before the chunk goes on, so not one byte past a limit reaches the store.
    if (bytes > this.#sizeCap) {
      callback(new TooLarge('The provided image is too large.'));
      return;
    }
    if (this.#expectedSize !== undefined && bytes > this.#expectedSize) {
      callback(new Invalid('Image data is longer than the declared Content-Length'));
      return;
    }
    this.#digester.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#expectedSize !== undefined && this.#bytes < this.#expectedSize) {
      callback(new Invalid('Image data is shorter than the declared Content-Length'));
      return;
    }
    const size = this.#bytes;
    this.#digester.digest().then(
      ({ md5, multihash }) => {
        this.#result = { size, md5, multihash };
        callback();
      },
      (err: unknown) => callback(err as Error),
    );
  }
}

/**
 * Creates the hashing pass for one upload.
 *
 * @example
 * const hasher = createHashingStream({ hashAlgo: 'sha512', sizeCap, expectedSize });
 * await pipeline(body, hasher, sink);
 * const { size, md5, multihash } = hasher.result;
 * @throws Error when `hashAlgo` is not a node crypto hash (checked here, before any data flows).
 */
export function createHashingStream(opts: HashingOptions): HashingStream {
  return new HashingStream(opts);
}
