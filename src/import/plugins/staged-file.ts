/**
 * How import plugins replace the staged data: the new data is written to a file of its own in
 * the staging area's temp directory, fsynced, and renamed over the staged file, so the staged
 * path always holds either the old data or the complete new data. A failure removes the temp
 * file; after a crash the staging store's start-up sweep does.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { TooLarge } from '../../domain/errors.js';
import type { ImportPluginContext } from '../../domain/ports.js';

const DIR_MODE = 0o750;
const FILE_MODE = 0o640;

/** A temp file beside the staged data, to be committed over it or discarded. */
export interface TempFile {
  readonly path: string;
  /** fsyncs the file and renames it over the staged path. */
  commit(): Promise<void>;
  /** Removes the file if it is still there (never throws). */
  discard(): Promise<void>;
}

/**
 * Names a temp file in `ctx.tempDir` (created if missing); nothing is created at the path.
 * @example const temp = await tempFileFor(ctx, 'raw'); try { …; await temp.commit(); } finally { await temp.discard(); }
 */
export async function tempFileFor(ctx: Pick<ImportPluginContext, 'imageId' | 'stagedPath' | 'tempDir'>, suffix: string): Promise<TempFile> {
  await mkdir(ctx.tempDir, { recursive: true, mode: DIR_MODE });
  // The image id tells an operator what a stray file was; the random part keeps retries apart.
  const path = `${ctx.tempDir}/${ctx.imageId}.${randomBytes(6).toString('hex')}.${suffix}`;
  let committed = false;
  return {
    path,
    async commit() {
      const handle = await open(path, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(path, ctx.stagedPath);
      committed = true;
    },
    async discard() {
      if (!committed) await rm(path, { force: true }).catch(() => undefined);
    },
  };
}

/** A write stream that creates `path` (never reuses one) and fsyncs it before closing. */
export function createTempWriteStream(path: string): WriteStream {
  return createWriteStream(path, { flags: 'wx', mode: FILE_MODE, flush: true });
}

/** Reads the first `length` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Streams a whole file, for inspection. */
export function readWhole(path: string, signal: AbortSignal): NodeJS.ReadableStream & AsyncIterable<Buffer> {
  return createReadStream(path, { signal, highWaterMark: 1024 * 1024 });
}

/**
 * A pass-through that fails with TooLarge once more than `cap` bytes went through: the guard
 * against decompression bombs (the output is capped at image_size_cap, like any upload).
 */
export function sizeCap(cap: number, what: string): Transform & { readonly bytes: () => number } {
  let bytes = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > cap) callback(new TooLarge(`${what} exceeds the image size cap of ${cap} bytes.`));
      else callback(null, chunk);
    },
  });
  return Object.assign(guard, { bytes: () => bytes });
}
