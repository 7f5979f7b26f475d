/**
 * A pass-through that checks image data while it flows: the md5 `checksum`, the multihash
 * (`os_hash_algo` / `os_hash_value`) and the size, all in the same pass. Bytes go on as they
 * arrive (nothing is buffered); a mismatch fails the stream at its end, so whoever writes the
 * data somewhere must treat it as unconfirmed until the stream finished without error.
 */
import { createHash, getHashes, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IrisIntegrityError } from './errors.js';
import type { ProgressListener } from './image-types.js';

export interface Expectations {
  /** md5 hex of the whole image (`checksum`, or the `Content-MD5` of a full download). */
  readonly md5?: string | null;
  /** Multihash algorithm name as Glance spells it (`sha512`, `sha256`, …). */
  readonly hashAlgo?: string | null;
  readonly hashValue?: string | null;
  readonly size?: number | null;
}

export interface VerifyingStream extends Transform {
  /** The checks this stream applies, e.g. `['size', 'md5', 'sha512']`. */
  readonly checks: readonly string[];
}

/**
 * A Transform applying every check `expect` makes possible; an algorithm node does not know
 * is skipped (md5 still applies), as glanceclient's `--allow-md5-fallback` would.
 *
 * @example
 *   await pipeline(download.body, verifyingStream({ md5: image.checksum, size: image.size }), file);
 */
export function verifyingStream(expect: Expectations, onProgress?: ProgressListener): VerifyingStream {
  const checks: string[] = [];
  const size = expect.size ?? undefined;
  if (size !== undefined) checks.push('size');
  const md5: Hash | undefined = expect.md5 ? createHash('md5') : undefined;
  if (md5) checks.push('md5');
  const algo = expect.hashAlgo?.toLowerCase();
  const multi: Hash | undefined =
    algo && expect.hashValue && algo !== 'md5' && getHashes().includes(algo) ? createHash(algo) : undefined;
  if (multi && algo) checks.push(algo);
  let bytes = 0;

  const stream = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      md5?.update(chunk);
      multi?.update(chunk);
      onProgress?.(bytes, size);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (size !== undefined && bytes !== size) return done(new IrisIntegrityError('size', String(size), String(bytes)));
      if (md5) {
        const got = md5.digest('hex');
        if (got !== expect.md5!.toLowerCase()) return done(new IrisIntegrityError('md5', expect.md5!, got));
      }
      if (multi && algo) {
        const got = multi.digest('hex');
        if (got !== expect.hashValue!.toLowerCase()) return done(new IrisIntegrityError(algo, expect.hashValue!, got));
      }
      done();
    },
  });
  return Object.assign(stream, { checks: Object.freeze(checks) });
}
