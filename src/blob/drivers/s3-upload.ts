/**
 * Streams one object into S3 without ever holding the whole of it: a single PutObject for a
 * small object, else a multipart upload whose parts go up in parallel, with backpressure on the
 * source. Any failure or abort removes what was sent (AbortMultipartUpload after every part in
 * flight has settled, so no part lands after the abort), and only then settles.
 *
 * Why not lib-storage's `Upload`: its `done()` rejects on abort before the multipart upload is
 * aborted, in-flight requests are not cancelled, and an aborted single PUT still completes in the
 * background and leaves an object; the driver contract needs "nothing left when the write
 * settles".
 *
 * Memory: `concurrency` part buffers in flight plus the one being filled, reused rather than
 * reallocated, and one source chunk of look-ahead: `(concurrency + 1) × partSize` in steady
 * state, plus about one part of source chunks while the first part is handed over. Measured
 * (bench/s3-driver.ts, live memory after GC): 20.5 MiB for 5 MiB × 2, 100 MiB for Glance's
 * defaults 10 MiB × 10 (bound 110). Objects below one part take only their own size.
 */
import type { Readable } from 'node:stream';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import type { S3Sdk } from './s3-sdk.js';
import { TooLarge } from '../../domain/errors.js';

/** S3's limit on the number of parts of one multipart upload. */
export const MAX_PARTS = 10_000;

export interface S3UploadOptions {
  readonly client: S3Client;
  /** The SDK's command classes (loaded with the client). */
  readonly sdk: S3Sdk;
  readonly bucket: string;
  readonly key: string;
  readonly source: Readable;
  /** Bytes per part (every part but the last). */
  readonly partSize: number;
  /** Objects smaller than this that also fit one part go up in one PutObject. */
  readonly multipartThreshold: number;
  /** Parts uploaded at once (Glance's `s3_store_thread_pools`). */
  readonly concurrency: number;
  readonly signal?: AbortSignal | undefined;
  /** Told when removing what a failed upload sent fails too; the upload's own error still wins. */
  readonly onCleanupError: (message: string, error: unknown) => void;
}

export interface S3UploadResult {
  readonly bytes: number;
  /** How many parts, or 0 for a single PutObject. */
  readonly parts: number;
}

/**
 * Uploads `source` to `bucket/key`.
 * @throws the source's error unchanged, an AbortError when `signal` aborts, the SDK's error, or
 *   TooLarge past `MAX_PARTS` parts.
 */
export async function uploadToS3(opts: S3UploadOptions): Promise<S3UploadResult> {
  const { client, bucket, key, source, signal } = opts;
  signal?.throwIfAborted();
  // Aborting destroys the source, which wakes a read that waits for data (a stalled client).
  const onAbort = (): void => {
    source.destroy(abortError(signal));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const reader = new PartReader(source, opts.partSize);
  try {
    const first = await reader.first();
    if (first.last && first.data.length < opts.multipartThreshold) {
      await putSingle(opts, first.data);
      return { bytes: first.data.length, parts: 0 };
    }
    return await putMultipart(opts, reader, first);
  } catch (err) {
    reader.close();
    if (signal?.aborted) throw isAbortError(err) ? err : abortError(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function putSingle(opts: S3UploadOptions, data: Buffer): Promise<void> {
  const { client, sdk, bucket, key, signal } = opts;
  try {
    await client.send(
      new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.length }),
      { abortSignal: signal },
    );
  } catch (err) {
    // Cut off mid-request (abort, connection lost): the service may still have stored every
    // byte, so the key is removed. A definite refusal from the service stored nothing.
    if (!hasServiceAnswer(err)) {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((e: unknown) => {
        opts.onCleanupError('could not remove the object of an interrupted S3 upload', e);
      });
    }
    throw err;
  }
}

async function putMultipart(opts: S3UploadOptions, reader: PartReader, first: Part): Promise<S3UploadResult> {
  const { client, sdk, bucket, key, signal } = opts;
  // Not cancellable: an upload the service created but whose id we never saw could not be aborted.
  const created = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('S3 CreateMultipartUpload answered without an UploadId');
  // Cancels every part in flight when one fails or the caller aborts.
  const parts = new AbortController();
  const cancelParts = (): void => parts.abort();
  signal?.addEventListener('abort', cancelParts, { once: true });
  const inFlight = new Set<Promise<void>>();
  const completed: CompletedPart[] = [];
  let failure: { error: unknown } | undefined;
  let bytes = 0;
  try {
    signal?.throwIfAborted();
    let part = first;
    for (let partNumber = 1; ; partNumber += 1) {
      if (partNumber > MAX_PARTS) {
        throw new TooLarge(`The image is larger than ${MAX_PARTS} parts of ${opts.partSize} bytes`);
      }
      const sent = part;
      const data = sent.data;
      bytes += data.length;
      const sending = client
        .send(
          new sdk.UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: data,
            ContentLength: data.length,
          }),
          { abortSignal: parts.signal },
        )
        .then(
          (answer) => {
            completed.push({ PartNumber: partNumber, ETag: answer.ETag });
          },
          (error: unknown) => {
            failure ??= { error };
            parts.abort();
          },
        )
        .finally(() => {
          inFlight.delete(sending);
          // Settled, retries included: no request reads this buffer any more.
          if (!failure) reader.release(sent);
        });
      inFlight.add(sending);
      if (part.last) break;
      // Backpressure: the next part is read only once a slot is free.
      while (inFlight.size >= opts.concurrency && !failure) await Promise.race(inFlight);
      if (failure) throw failure.error;
      part = await reader.next();
      // A source that ends exactly on a part boundary gives an empty last "part": nothing to send.
      if (part.last && part.data.length === 0) break;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    // Not cancellable: once every byte is sent, the commit is short and its outcome must be known.
    await client.send(
      new sdk.CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: completed },
      }),
    );
    return { bytes, parts: completed.length };
  } catch (err) {
    parts.abort();
    // Every part request must have settled before the abort, or a late part could outlive it.
    await Promise.allSettled(inFlight);
    await client
      .send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch((e: unknown) => {
        // Already aborted (the blob store removed it as staging): nothing is left, as wanted.
        if (!isGone(e)) opts.onCleanupError('could not abort the multipart upload of a failed S3 upload', e);
      });
    throw err;
  } finally {
    signal?.removeEventListener('abort', cancelParts);
  }
}

interface Part {
  readonly data: Buffer;
  /** True when the source has ended: `data` is its tail (possibly empty). */
  readonly last: boolean;
  /** The reusable part buffer `data` lives in, handed back with `release` once sent. */
  readonly pooled?: Buffer;
}

/**
 * Cuts a byte stream into parts of `partSize`. Source chunks are copied into part buffers that
 * are reused once their request has settled, so an upload holds at most (parts in flight + 1)
 * part buffers, allocated once, plus one source chunk. It reads one chunk past a full part before
 * handing it out, so a part is known to be the last one without another round trip.
 */
class PartReader {
  readonly #iterator: AsyncIterator<unknown>;
  readonly #partSize: number;
  /** Source chunks read but not yet copied into a part. */
  #pending: Buffer[] = [];
  #ended = false;
  readonly #free: Buffer[] = [];

  constructor(source: Readable, partSize: number) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#partSize = partSize;
  }

  /**
   * The first part. A source that ends within one part (a small image) is returned as the bytes
   * it sent, without taking a whole part buffer.
   */
  async first(): Promise<Part> {
    let buffered = 0;
    while (buffered <= this.#partSize) {
      const chunk = await this.#read();
      if (!chunk) {
        const data = Buffer.concat(this.#pending, buffered);
        this.#pending = [];
        return { data, last: true };
      }
      this.#pending.push(chunk);
      buffered += chunk.length;
    }
    return this.next();
  }

  async next(): Promise<Part> {
    const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#partSize);
    let filled = 0;
    for (;;) {
      while (filled < this.#partSize && this.#pending.length > 0) {
        const chunk = this.#pending[0] as Buffer;
        const copied = chunk.copy(buffer, filled);
        filled += copied;
        if (copied === chunk.length) this.#pending.shift();
        else this.#pending[0] = chunk.subarray(copied);
      }
      if (filled === this.#partSize) break;
      const chunk = await this.#read();
      if (!chunk) break;
      this.#pending.push(chunk);
    }
    // One chunk of look-ahead tells whether this part is the last.
    if (this.#pending.length === 0) {
      const chunk = await this.#read();
      if (chunk) this.#pending.push(chunk);
    }
    return { data: buffer.subarray(0, filled), last: this.#pending.length === 0, pooled: buffer };
  }

  /** Hands a part's buffer back for the next part; only once no request can still read it. */
  release(part: Part): void {
    if (part.pooled) this.#free.push(part.pooled);
  }

  /** Stops reading: the source is destroyed unless it has ended. */
  close(): void {
    this.#pending = [];
    this.#free.length = 0;
    void this.#iterator.return?.().catch(() => undefined);
  }

  /** The next non-empty chunk, or undefined at the end of the source. */
  async #read(): Promise<Buffer | undefined> {
    while (!this.#ended) {
      const step = await this.#iterator.next();
      if (step.done) {
        this.#ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(step.value) ? step.value : Buffer.from(step.value as Uint8Array | string);
      if (chunk.length > 0) return chunk;
    }
    return undefined;
  }
}

/** Whether the error is the service's answer (an HTTP status came back), not a cut-off request. */
function hasServiceAnswer(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status > 0;
}

function isGone(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return (err as { name?: string } | undefined)?.name === 'NoSuchUpload' || status === 404;
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('The operation was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}
