/**
 * The port every storage backend implements. Drivers only move bytes: hashing, size checks and
 * the choice of driver live one layer up, in `blob-store.ts`, so that no backend re-does them
 * (Glance repeats hashing in every glance_store driver; Iris does it once).
 */
import type { Readable } from 'node:stream';
import type { ByteRange } from '../domain/ports.js';
import type { WriterIdentity } from './writer-identity.js';

/** What a backend can do; the blob store checks these instead of catching "not supported". */
export interface DriverCapabilities {
  /** False for read-only backends (e.g. Glance's http store): `write` always rejects. */
  readonly writable: boolean;
  /** True when `read` honours `range` without reading the bytes before `range.start`. */
  readonly rangedReads: boolean;
}

/** The outcome of a completed write. */
export interface WriteResult {
  /** Where the data now lives, a URL of the driver's scheme (e.g. `file:///srv/images/<key>`). */
  readonly location: string;
  /** How many bytes were written. */
  readonly bytes: number;
}

/** An open object: its bytes (all of them, or the requested range) and its whole size. */
export interface ReadResult {
  readonly stream: Readable;
  /** Size of the whole object, even when `stream` only carries a range. */
  readonly size: number;
}

/**
 * Marks a destination whose write callback runs only once it no longer holds the written chunk
 * (Node's own http.ServerResponse: the socket has taken the bytes). A driver's read stream piped
 * into such a destination may refill the same buffers instead of allocating one per chunk. The
 * layer that owns the destination sets the mark (src/http/chunk-releasing-response.ts); drivers
 * only look for it.
 */
export const RELEASES_WRITTEN_CHUNKS: unique symbol = Symbol('iris.releasesWrittenChunks');

/** A destination carrying {@link RELEASES_WRITTEN_CHUNKS}. */
export interface ChunkReleasingWritable extends NodeJS.WritableStream {
  readonly [RELEASES_WRITTEN_CHUNKS]: true;
}

/** Whether `destination` was marked {@link RELEASES_WRITTEN_CHUNKS}. */
export function releasesWrittenChunks(destination: NodeJS.WritableStream): destination is ChunkReleasingWritable {
  return (destination as Partial<ChunkReleasingWritable>)[RELEASES_WRITTEN_CHUNKS] === true;
}

/**
 * Marks a read stream a driver serves from a whole local file (the filesystem driver), so that a
 * put of that stream into a store that can link files (`BlobDriver.linkFile`) takes the file
 * itself instead of copying its bytes: a glance-direct import moves the staged file into a
 * filesystem store with a hard link, and only reads it to hash it. The driver that opened the
 * file sets the mark; the blob store only looks for it.
 */
export const LOCAL_FILE: unique symbol = Symbol('iris.localFile');

/** The open file behind a stream marked {@link LOCAL_FILE}. */
export interface LocalFile {
  /** The file's path when it was opened (a link to it is checked against `fd`). */
  readonly path: string;
  /** The open descriptor the stream reads from (owned by the stream; duplicate it to keep it). */
  readonly fd: number;
  /** The file's size when opened; the stream carries all of it. */
  readonly size: number;
}

/** The whole local file a stream carries, when its driver marked it {@link LOCAL_FILE}. */
export function localFileOf(stream: NodeJS.ReadableStream): LocalFile | undefined {
  return (stream as { [LOCAL_FILE]?: LocalFile })[LOCAL_FILE];
}

/**
 * One storage backend.
 *
 * @example
 * const { location, bytes } = await driver.write(imageId, body, { signal });
 * const { stream, size } = await driver.read(location, { range: { start: 0, end: 99 } });
 * await driver.delete(location);
 */
export interface BlobDriver {
  /** The URL scheme of the locations this driver produces and accepts, without `:` (`'file'`). */
  readonly scheme: string;
  /**
   * Every scheme whose locations this driver reads and deletes, when there are more than
   * `scheme` (`['swift', 'swift+http', 'swift+https', 'swift+config']`, `['http', 'https']`).
   * The blob store routes a location by its scheme to the first store listing it.
   */
  readonly schemes?: readonly string[];
  readonly capabilities: DriverCapabilities;
  /**
   * Consumes `source` to its end and stores it under `key`. Atomic: nothing is visible at the
   * returned location until every byte is durably stored, and on any failure (source error,
   * abort through `signal`, backend error) no data and no staging object is left behind.
   * Writing the same key twice replaces the earlier object.
   *
   * @param key an opaque, single path segment chosen by the caller (the image id).
   * @param opts.expectedSize the declared length (Content-Length) when known, already enforced
   *   by the caller: a hint for drivers that store small and large objects differently (Glance's
   *   swift and s3 stores choose by it), never trusted as the size written.
   * @throws Invalid when `key` is not acceptable to the backend.
   * @throws StorageFull when the backend is out of space or quota.
   * @throws the source's own error, or an `AbortError`, unchanged.
   */
  write(
    key: string,
    source: Readable,
    opts?: {
      readonly signal?: AbortSignal;
      /**
       * The declared size (Content-Length), when known: a hint for drivers that allocate ahead
       * (an RBD image created at its size, as Glance does). The source still decides: the blob
       * store fails the write when it delivers another number of bytes.
       */
      readonly sizeHint?: number;
    },
  ): Promise<WriteResult>;
  /**
   * A new object written through a file descriptor (stores whose objects are local files): the
   * blob store hands the descriptor to a transfer thread (fd-transfer.ts), then commits or
   * aborts. Absent = only `write`.
   * @throws Invalid when `key` is not acceptable to the backend.
   */
  openFile?(key: string): Promise<FileSink>;
  /**
   * A new object under `key` that is `file` itself (a hard link into the store), for stores whose
   * objects are local files; committed or aborted as a FileSink. Resolves null when the file
   * cannot be linked here (another filesystem, a file that changed since it was opened): the
   * caller then copies the bytes. Absent = never.
   * @throws Invalid when `key` is not acceptable to the backend.
   */
  linkFile?(key: string, file: LocalFile): Promise<FileLink | null>;
  /**
   * Opens `location` for reading. The object is opened before this resolves, so a missing
   * object is reported here and not as a stream error.
   *
   * @param opts.range inclusive byte range, already validated against the size by the caller.
   * @throws NotFound when no object exists at `location`.
   * @throws Invalid when `location` does not belong to this driver (another scheme, or a place
   *   outside the driver's storage): drivers never read arbitrary data.
   * @throws RangeNotSatisfiable when `range` does not fit the object.
   */
  read(
    location: string,
    opts?: { readonly range?: ByteRange; readonly signal?: AbortSignal },
  ): Promise<ReadResult>;
  /**
   * The size of the object at `location` without reading it (glance_store's get_size), for
   * stores that can tell it more cheaply than `read`; absent = the blob store opens and closes it.
   * @throws NotFound when no object exists at `location`.
   */
  size?(location: string, opts?: { readonly signal?: AbortSignal }): Promise<number>;
  /**
   * Removes the object at `location`. Idempotent: a missing object is not an error.
   * @throws Invalid when `location` does not belong to this driver.
   */
  delete(location: string): Promise<void>;
  /**
   * Whether something outside Iris depends on the object (clones of an RBD snapshot), so that
   * `delete` would throw InUseByStore. Absent = never.
   */
  inUse?(location: string): Promise<boolean>;
  /**
   * Lists the staging objects of writes not yet committed: writes in flight (on this node or on
   * another node sharing the backend) and writes abandoned by a crash. The blob store removes the
   * ones older than its threshold; a driver never decides on its own what is abandoned.
   * A read-only driver returns [].
   */
  listStaging(): Promise<StagingObject[]>;
  /**
   * Removes one staging object listed by `listStaging` (its temp file, its segments, its
   * pending multipart upload). Idempotent: one already gone is not an error.
   * @throws Invalid when `id` is not a staging object id of this driver.
   */
  removeStaging(id: string): Promise<void>;
  /**
   * The health check's probe: resolves when the backend answers one cheap request (the
   * directory is writable, the bucket exists), rejects with the reason otherwise. Absent =
   * nothing cheap to ask.
   */
  probe?(signal: AbortSignal): Promise<void>;
  /**
   * Releases what the driver holds open between calls (RBD's cluster connection and its
   * threads). Called once, when nothing uses the driver any more. Absent = nothing to release.
   */
  close?(): Promise<void>;
}

/** An uncommitted object open for writing (see `BlobDriver.openFile`). Exactly one of `commit`, `abort` must be called. */
export interface FileSink {
  /** Write here from offset 0; nothing else writes to it. */
  readonly fd: number;
  /** Bytes between writeback hints (the store's flush interval; 0: flush only at commit). */
  readonly flushBytes: number;
  /** Makes the first `bytes` written durable and visible under the key. */
  commit(bytes: number): Promise<WriteResult>;
  /** Removes what was written; resolves with the error to report for `cause` (a full disk as StorageFull). */
  abort(cause: unknown): Promise<unknown>;
}

/** A link not yet committed (see `BlobDriver.linkFile`). Exactly one of `commit`, `abort` must be called. */
export interface FileLink {
  /** Makes the file durable and visible under the key. */
  commit(): Promise<WriteResult>;
  /** Removes the link; resolves with the error to report for `cause`. */
  abort(cause: unknown): Promise<unknown>;
}

/** The leftovers of one uncommitted write, as `listStaging` reports them. */
export interface StagingObject {
  /** Opaque to the caller; handed back to `removeStaging`. */
  readonly id: string;
  /** The key the write was for, when the backend can tell (logged, never trusted). */
  readonly key?: string;
  /**
   * When the write last added data (or when it started, for backends that record only that):
   * a staging object is abandoned when this is older than the blob store's threshold.
   */
  readonly modifiedAt: Date;
  /** The process that wrote it, when the backend records one (see writer-identity.ts). */
  readonly writer?: WriterIdentity;
}
