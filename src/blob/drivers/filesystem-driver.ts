/**
 * The filesystem backend (Glance's `file` store): one file per image in a directory, located by
 * `file://<absolute dir>/<key>`. Writes are staged in `<dir>/.tmp/`, flushed as they go and
 * fsynced, renamed into place and the directory fsynced, all before the write resolves: a reader
 * never sees a partial image, and an image whose upload was answered survives a crash.
 */
import { constants as fsConstants, fstat } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { addAbortSignal } from 'node:stream';
import type { Readable } from 'node:stream';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_FILE, type BlobDriver, type FileLink, type FileSink, type LocalFile, type ReadResult, type StagingObject, type WriteResult } from '../blob-driver.js';
import { FileReadStream } from './file-read-stream.js';
import { writeAndFlush } from './flushing-file-writer.js';
import type { ByteRange } from '../../domain/ports.js';
import { Invalid, NotFound, RangeNotSatisfiable, StorageFull } from '../../domain/errors.js';
import { warnCleanup, type CleanupReporter } from '../cleanup-report.js';
import { currentWriter, formatWriter, parseWriter, type WriterIdentity } from '../writer-identity.js';

export interface FilesystemDriverOptions {
  /** The store directory (Glance's `filesystem_store_datadir`); created on first write. */
  readonly dir: string;
  /**
   * Stream buffering for writes and reads, in bytes. Default 1 MiB, from measuring 512 MiB
   * writes fed in 64 KiB chunks (an HTTP body's size) on a 2-core VM: 1 MiB ran at 0.8-1.3 GiB/s,
   * level with `dd bs=1M conv=fsync` on the same disk; 64 KiB was about 40% slower and 4 MiB
   * slower still. Reads: 2.0 GiB/s at 1 MiB against 1.6 GiB/s at 64 KiB. Served over HTTP
   * (file-read-stream.ts), 256 KiB, 512 KiB, 2 MiB and 4 MiB chunks measured level with 1 MiB
   * within the noise of the shared VM; 64-128 KiB cost 1.5-2.5x the CPU.
   */
  readonly chunkSize?: number;
  /**
   * Bytes written between two background data flushes (fdatasync on the libuv pool while the
   * upload goes on), so that little is left to flush after the last byte. 0: one flush at the
   * end. Default 16 MiB (the issue 22 measurements: 8-32 MiB all hid most of the flush).
   */
  readonly flushBytes?: number;
  /** Where a temp file that could not be removed after a failed write is reported (default: a process warning). */
  readonly onCleanupError?: CleanupReporter;
}

const SCHEME = 'file';
const STAGING = '.tmp';

/**
 * The key and writer of a staging file named `<key>.<16 hex>.<writer>` (or, before writers
 * were recorded, `<key>.<16 hex>`); keys may hold dots, so the name is read from its end.
 */
function stagingName(name: string): { key: string; writer?: WriterIdentity } {
  const last = name.lastIndexOf('.');
  const writer = last > 0 ? parseWriter(name.slice(last + 1)) : undefined;
  const rest = writer ? name.slice(0, last) : name;
  const dot = rest.lastIndexOf('.');
  const key = dot > 0 ? rest.slice(0, dot) : rest;
  return writer ? { key, writer } : { key };
}
const DIR_MODE = 0o750;
const FILE_MODE = 0o640;
const DEFAULT_CHUNK = 1024 * 1024;
const DEFAULT_FLUSH = 16 * 1024 * 1024;

/**
 * A filesystem driver also says where a key lives, for the callers that keep objects under
 * known keys (the staging store keys by image id; import plugins read the staged file).
 */
export interface FilesystemDriver extends BlobDriver {
  /** The location `write(key)` returns. */
  locationOf(key: string): string;
  /** The file a key's object is at once written. */
  fileOf(key: string): string;
}

/**
 * Creates a driver storing blobs as files in `opts.dir` (made absolute against the current
 * directory).
 *
 * @example
 * const driver = createFilesystemDriver({ dir: config.glance_store.filesystem_store_datadir });
 */
export function createFilesystemDriver(opts: FilesystemDriverOptions): FilesystemDriver {
  const dir = resolve(opts.dir);
  const stagingDir = `${dir}/${STAGING}`;
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const flushBytes = opts.flushBytes ?? DEFAULT_FLUSH;
  // Glance's filesystem store builds locations as 'file://' + path, without percent-encoding;
  // Iris does the same so a database carried over from Glance keeps working.
  const prefix = `${SCHEME}://${dir}/`;

  function locationOf(key: string): string {
    return prefix + key;
  }

  /** The file behind a location, or Invalid when the location is not a file of this store. */
  function pathOf(location: string): string {
    if (!location.startsWith(prefix)) throw notOurs();
    const name = location.slice(prefix.length);
    if (!isSafeName(name)) throw notOurs();
    return `${dir}/${name}`;
  }

  /** Where a new object for `key` is staged (the staging directory made), and where it goes. */
  async function stagingPaths(key: string): Promise<{ finalPath: string; tempPath: string }> {
    if (!isSafeName(key)) throw new Invalid(`Invalid blob key: ${JSON.stringify(key)}`);
    try {
      await mkdir(stagingDir, { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw toStorageError(err);
    }
    // The random suffix keeps two concurrent writers of one key apart; the key prefix tells an
    // operator what a stray staging file was.
    return {
      finalPath: `${dir}/${key}`,
      tempPath: `${stagingDir}/${key}.${randomBytes(8).toString('hex')}.${formatWriter(currentWriter())}`,
    };
  }

  /**
   * A new staging file for `key`, committed by renaming it into place. `commit(bytes, synced)`:
   * `synced` says data and size are already on disk (writeAndFlush's last step is an fsync).
   */
  async function openStaging(key: string): Promise<{ handle: FileHandle; commit(bytes: number, synced: boolean): Promise<WriteResult>; abort(cause: unknown): Promise<unknown> }> {
    const { finalPath, tempPath } = await stagingPaths(key);
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      // 'wx': never reuse a file someone else created.
      handle = await open(tempPath, 'wx', FILE_MODE);
    } catch (err) {
      throw toStorageError(err);
    }
    const opened = handle;
    return {
      handle: opened,
      async commit(bytes, synced) {
        // Data and size are on disk before the caller answers.
        if (!synced) await opened.sync();
        await opened.close();
        handle = undefined;
        await rename(tempPath, finalPath);
        renamed = true;
        // The rename itself is only durable once the directory entry is on disk.
        await syncDirectory(dir);
        return { location: locationOf(key), bytes };
      },
      async abort(cause) {
        // The writer has stopped writing by now; close before unlink. A close error here is
        // secondary: the write has already failed for `cause`.
        await handle?.close().catch(() => undefined);
        // A failed unlink must not hide why the write failed, but the leftover is reported (a
        // temp file is swept at the next start; a renamed one is not).
        const leftover = renamed ? finalPath : tempPath;
        await unlinkQuietly(leftover).catch((e: unknown) => {
          (opts.onCleanupError ?? warnCleanup)('could not remove the file of a failed write', e, { image: key, path: leftover });
        });
        return toStorageError(cause);
      },
    };
  }

  async function write(
    key: string,
    source: Readable,
    { signal }: { readonly signal?: AbortSignal } = {},
  ): Promise<WriteResult> {
    if (!isSafeName(key)) throw new Invalid(`Invalid blob key: ${JSON.stringify(key)}`);
    signal?.throwIfAborted();
    const staging = await openStaging(key);
    try {
      // writeAndFlush settles only once nothing writes to the file any more.
      const bytes = await writeAndFlush(staging.handle, source, { batchBytes: chunkSize, flushBytes, signal });
      return await staging.commit(bytes, true);
    } catch (err) {
      throw await staging.abort(err);
    }
  }

  async function openFile(key: string): Promise<FileSink> {
    const staging = await openStaging(key);
    return { fd: staging.handle.fd, flushBytes, commit: (bytes) => staging.commit(bytes, false), abort: staging.abort };
  }

  async function linkFile(key: string, file: LocalFile): Promise<FileLink | null> {
    const { finalPath, tempPath } = await stagingPaths(key);
    try {
      await link(file.path, tempPath);
    } catch (err) {
      // Another filesystem, links not allowed there, or the file gone: the caller copies.
      if (['EXDEV', 'EPERM', 'EMLINK', 'ENOENT', 'ENOTSUP', 'EOPNOTSUPP'].some((code) => isErrno(err, code))) return null;
      throw toStorageError(err);
    }
    let renamed = false;
    const abort = async (cause: unknown): Promise<unknown> => {
      const leftover = renamed ? finalPath : tempPath;
      await unlinkQuietly(leftover).catch((e: unknown) => {
        (opts.onCleanupError ?? warnCleanup)('could not remove the link of a failed write', e, { image: key, path: leftover });
      });
      return toStorageError(cause);
    };
    // The path may name another file by now: link only the file whose bytes the caller reads.
    // A failed check (e.g. the caller's descriptor closed meanwhile) leaves no link behind.
    const [linked, opened] = await Promise.all([lstat(tempPath, { bigint: true }), fstatOf(file.fd)]).catch(async (err: unknown) => {
      throw await abort(err);
    });
    if (linked.dev !== opened.dev || linked.ino !== opened.ino) {
      await abort(undefined);
      return null;
    }
    return {
      async commit() {
        // The source may never have been flushed (a store that does not fsync): make it durable here.
        const handle = await open(tempPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(tempPath, finalPath);
        renamed = true;
        await syncDirectory(dir);
        return { location: locationOf(key), bytes: Number(linked.size) };
      },
      abort,
    };
  }

  async function read(
    location: string,
    { range, signal }: { readonly range?: ByteRange; readonly signal?: AbortSignal } = {},
  ): Promise<ReadResult> {
    const path = pathOf(location);
    signal?.throwIfAborted();
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in the store must not expose a file outside it.
      handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ELOOP')) {
        throw new NotFound('Image data not found in the filesystem store', { cause: err });
      }
      throw err;
    }
    try {
      // Size from the open descriptor, so it describes exactly the bytes we are going to stream.
      const stats = await handle.stat();
      if (!stats.isFile()) throw new NotFound('Image data not found in the filesystem store');
      const size = stats.size;
      if (range && (range.start < 0 || range.start > range.end || range.start >= size)) {
        throw new RangeNotSatisfiable(`Range ${range.start}-${range.end} is outside 0-${size - 1}`, size);
      }
      // The stream owns the handle from here on: it closes it on end, error and destroy.
      const stream = new FileReadStream(handle, {
        start: range ? range.start : 0,
        end: range ? Math.min(range.end, size - 1) : size - 1,
        chunkSize,
      });
      // The whole file: another filesystem store may link it instead of copying its bytes.
      if (!range) Object.assign(stream, { [LOCAL_FILE]: { path, fd: handle.fd, size } satisfies LocalFile });
      if (signal) addAbortSignal(signal, stream);
      return { stream, size };
    } catch (err) {
      // Read-only descriptor: a close error cannot lose data, and the open error is the news.
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  async function remove(location: string): Promise<void> {
    await unlinkQuietly(pathOf(location));
  }

  async function listStaging(): Promise<StagingObject[]> {
    let names: string[];
    try {
      names = await readdir(stagingDir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const found: StagingObject[] = [];
    for (const name of names) {
      try {
        // lstat: the staging area holds regular files only; whatever else is there is listed
        // by its own time and removed like a stray file.
        const { mtime } = await lstat(`${stagingDir}/${name}`);
        found.push({ id: name, ...stagingName(name), modifiedAt: mtime });
      } catch (err) {
        // Committed or removed since readdir: not staging any more.
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return found;
  }

  async function removeStaging(id: string): Promise<void> {
    // Any single entry of the staging directory, nothing outside it.
    if (id === '' || id === '.' || id === '..' || id.includes('/') || id.includes('\0')) {
      throw new Invalid('Not a staging file of this filesystem store');
    }
    await unlinkQuietly(`${stagingDir}/${id}`);
  }

  return {
    locationOf,
    fileOf: (key) => pathOf(locationOf(key)),
    scheme: SCHEME,
    capabilities: { writable: true, rangedReads: true },
    write,
    openFile,
    linkFile,
    read,
    delete: remove,
    listStaging,
    removeStaging,
    // The first write creates the directory as this does; then it must be writable.
    probe: async () => {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      await access(dir, fsConstants.W_OK | fsConstants.X_OK);
    },
  };
}

/**
 * A key or file name the store accepts: one path segment, not hidden (so the staging directory
 * and its files can never be addressed), no NUL.
 */
function isSafeName(name: string): boolean {
  return (
    name.length > 0 &&
    // Leaves room for the staging suffix within the usual 255-byte file name limit.
    name.length <= 200 &&
    !name.startsWith('.') &&
    !name.includes('/') &&
    !name.includes('\0')
  );
}

// The location stays out of the message: messages can reach API clients, locations must not.
function notOurs(): Invalid {
  return new Invalid('Location is not in this filesystem store');
}

const fstatOf = promisify((fd: number, done: (err: NodeJS.ErrnoException | null, stats: import('node:fs').BigIntStats) => void) =>
  fstat(fd, { bigint: true }, done),
);

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** Out-of-space errors become the domain's StorageFull (Glance answers those with 413). */
function toStorageError(err: unknown): unknown {
  if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) {
    return new StorageFull('There is not enough disk space on the image storage media', { cause: err });
  }
  return err;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
