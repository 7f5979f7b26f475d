/**
 * The image cache of one node (Glance's image cache with its `centralized_db` driver): complete,
 * verified copies of active images' data on local disk, recorded in the shared database under
 * the node's identity, served instead of the store, pruned least recently used first.
 *
 * Only this module knows the layout: `<image_cache_dir>/<node key>/<image id>` for complete
 * files and `<…>/incomplete/<image id>.<pid>.<random>` for files being written. The node key is
 * derived from the node's identity, so nodes that share a path never touch each other's files.
 *
 * Correctness rules:
 * - a file becomes an entry only once its size, md5 and multihash equal the image's, and only
 *   by an atomic rename out of `incomplete/`; a fill that ends early (client gone, store
 *   error) leaves nothing;
 * - an entry is served only while its image is active and still has the checksums the file
 *   was written with (a change of the image's data is a change of its checksums);
 * - a file whose size no longer matches is evicted before a byte is sent (the caller then
 *   reads the store); a full read re-computes the file's CRC-32 (recorded when it was written)
 *   in the same pass and holds back its last chunk until it matches, so a file corrupted in
 *   place is never delivered complete: the transfer breaks, the entry is evicted and the next
 *   read goes to the store. CRC-32 rather than md5 again: it catches bit rot and stray writes
 *   at a tenth of md5's CPU (zlib's, about 0.2 s per GiB here against 1.6), and md5 and the
 *   multihash were already verified when the file was written. Range reads are checked by
 *   size only (checking them would mean reading the whole file).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, rename, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Image } from '../domain/image.js';
import type { ByteRange } from '../domain/ports.js';
import { createDigester, type Digester } from '../blob/hashing-stream.js';
import { FileReadStream } from '../blob/drivers/file-read-stream.js';
import { isProcessGone } from '../blob/writer-identity.js';
import type { CacheRecord, CacheRecords } from './cache-records.js';

export interface ImageCacheOptions {
  /** image_cache_dir (absolute). */
  readonly dir: string;
  /** This node's identity (worker_self_reference_url). */
  readonly node: string;
  readonly records: CacheRecords;
  /** image_cache_max_size, bytes. */
  readonly maxSize: number;
  /** image_cache_stall_time, milliseconds. */
  readonly stallTimeMs: number;
  /** [iris] image_cache_min_free_space, bytes. */
  readonly minFreeSpace: number;
  /** Epoch milliseconds (the Clock port). */
  readonly now: () => number;
  /** Failures that must not fail the download they happen in (logged with the image id). */
  readonly onError: (message: string, err: unknown, extra: Record<string, unknown>) => void;
  /** Cache events worth an info line (an entry added, evicted, pruned). */
  readonly onEvent?: (message: string, extra: Record<string, unknown>) => void;
  /** Free bytes on the cache's filesystem (tests replace it); default statfs. */
  readonly freeSpace?: (dir: string) => Promise<number>;
  /** Bytes per read when serving a range. */
  readonly chunkSize?: number;
}

/** A fill in progress: the stream to send, and whether it became an entry. */
export interface CacheFill {
  readonly stream: Readable;
  /** true once the entry is committed; false when the data was not kept. Never rejects. */
  readonly done: Promise<boolean>;
}

export interface PruneResult {
  readonly files: number;
  readonly bytes: number;
}

export interface CleanResult {
  /** Incomplete files older than the stall time, or whose writing process is gone. */
  readonly stalled: number;
  /** Entries whose image is gone, inactive or changed, or whose file is missing. */
  readonly invalid: number;
  /** Files without an entry (a crash between rename and record), older than the stall time. */
  readonly orphans: number;
}

export type ImageCache = ReturnType<typeof createImageCache>;

const DEFAULT_CHUNK = 1024 * 1024;

/** The node's directory name: stable, path-safe, and distinct per identity. */
export function nodeKey(node: string): string {
  return `node-${createHash('sha256').update(node).digest('hex').slice(0, 16)}`;
}

/**
 * @example
 *   const cache = createImageCache({ dir, node, records, maxSize, stallTimeMs, minFreeSpace, now: Date.now, onError });
 *   await cache.prepare();
 *   const hit = await cache.open(image, null);
 *   const { stream } = hit ?? cache.fill(image, await readStore());
 */
export function createImageCache(opts: ImageCacheOptions) {
  const { records, node } = opts;
  const base = join(opts.dir, nodeKey(node));
  const incomplete = join(base, 'incomplete');
  const freeSpace = opts.freeSpace ?? defaultFreeSpace;
  /** Images this process is writing into the cache now (one fill per image at a time). */
  const filling = new Set<string>();
  /** Commits still running (shutdown and tests wait for them). */
  const pending = new Set<Promise<unknown>>();
  const pathOf = (id: string) => join(base, id);

  function track<T>(p: Promise<T>): Promise<T> {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  }

  async function removeFile(path: string, imageId: string): Promise<void> {
    try {
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') opts.onError('could not remove an image cache file', e, { image: imageId, path });
    }
  }

  /** Drops an entry: record first (so it is never served again), then the file. */
  async function evict(imageId: string, reason: string): Promise<boolean> {
    const had = await records.removeCached(node, imageId);
    await removeFile(pathOf(imageId), imageId);
    if (had) opts.onEvent?.('image cache entry removed', { image: imageId, reason });
    return had;
  }

  /** Evicts; a failure is logged (the entry is then retried by the cleaner), never thrown. */
  function evictQuietly(imageId: string, reason: string): Promise<unknown> {
    return track(evict(imageId, reason).catch((e: unknown) => opts.onError('could not evict an image cache entry', e, { image: imageId, reason })));
  }

  /** Whether the record still describes the image's current data. */
  function matches(record: CacheRecord, image: Image): boolean {
    return (
      image.status === 'active' &&
      image.size === record.size &&
      (image.checksum ?? null) === record.checksum &&
      (image.os_hash_value ?? null) === record.osHashValue
    );
  }

  /**
   * One prune or clean at a time in this process (Glance takes a lock per operation for its
   * API): two callers racing would pick the same oldest entry and over-prune.
   */
  let maintenance: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = maintenance.then(work, work);
    maintenance = run.catch(() => undefined);
    return run;
  }

  function prune(extra = 0): Promise<PruneResult> {
    return serialized(async () => {
      let files = 0;
      let bytes = 0;
      // Free space below the floor counts as overage too: the cache gives disk back first.
      const shortOfFloor = async () => opts.minFreeSpace + extra - (await freeSpace(base));
      for (;;) {
        // Read again each round: another process of this node (a worker, iris-manage) may prune too.
        const overMax = (await records.totalSize(node)) + extra - opts.maxSize;
        const overFloor = await shortOfFloor();
        if (overMax <= 0 && overFloor <= 0) break;
        const [oldest] = await records.leastRecentlyUsed(node, 1);
        if (oldest === undefined) break;
        // Counted only when this call removed the record (not when another process did first).
        if (await evict(oldest.imageId, 'pruned')) {
          files += 1;
          bytes += oldest.size;
        }
      }
      if (files > 0) opts.onEvent?.('image cache pruned', { files, bytes, max_size: opts.maxSize });
      return { files, bytes };
    });
  }

  /**
   * Whether an image of `size` bytes may be written now: never beyond max size, never under the
   * free-disk floor; older entries are pruned to make room.
   */
  async function makeRoom(size: number): Promise<boolean> {
    if (size > opts.maxSize) return false;
    await prune(size);
    return (await freeSpace(base)) - size >= opts.minFreeSpace;
  }

  /** The store's stream for a full read, teed into an incomplete file, hashed in the same pass. */
  function fill(image: Image, source: Readable): CacheFill {
    const size = image.size;
    if (image.status !== 'active' || size === null || image.checksum === null || filling.has(image.id)) {
      return { stream: source, done: Promise.resolve(false) };
    }
    filling.add(image.id);
    const tee = new CacheTee(image, size, {
      open: async () => {
        if (!(await makeRoom(size))) return null;
        const path = join(incomplete, `${image.id}.${process.pid}.${randomBytes(4).toString('hex')}`);
        return { path, handle: await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600) };
      },
      commit: async (path, handle, digests) => {
        const osHash = image.os_hash_value ?? null;
        if (digests.md5 !== image.checksum || (osHash !== null && digests.multihash !== osHash) || digests.size !== size) {
          // The store's data is not the image's: never kept (the download itself is the store's problem).
          opts.onError('image data read from the store does not match its checksums; not cached', null, {
            image: image.id,
            size: digests.size,
          });
          return false;
        }
        await handle.datasync();
        await handle.close();
        await rename(path, pathOf(image.id));
        const at = opts.now();
        await records.addCached(node, {
          imageId: image.id,
          size,
          checksum: image.checksum,
          osHashValue: osHash,
          crc32: digests.crc32,
          hits: 0,
          lastAccessed: at,
          lastModified: at,
        });
        await records.dequeue(node, image.id);
        opts.onEvent?.('image cached', { image: image.id, bytes: size });
        await prune();
        return true;
      },
      discard: async (path, handle) => {
        await handle?.close().catch(() => undefined);
        if (path !== undefined) await removeFile(path, image.id);
      },
      onError: (message, err) => opts.onError(message, err, { image: image.id }),
    });
    const done = track(
      tee.result.finally(() => {
        filling.delete(image.id);
      }),
    );
    // pipeline: a client leaving destroys the tee, which destroys the store's stream (and back).
    pipeline(source, tee, () => undefined);
    return { stream: tee, done };
  }

  /**
   * The cached data of `image` (a byte range, or all of it), or null when this node has no
   * usable entry; a stale or damaged entry is evicted on the way. Cache faults never throw.
   */
  async function openEntry(image: Image, range: ByteRange | null): Promise<{ stream: Readable; size: number } | null> {
    let record: CacheRecord | null;
    try {
      record = await records.getCached(node, image.id);
    } catch (e) {
      opts.onError('could not read the image cache records; serving from the store', e, { image: image.id });
      return null;
    }
    if (record === null) return null;
    // Evictions on this path are awaited: the caller reads the store next and may fill the
    // cache again, which must not race with the removal of the bad entry.
    if (!matches(record, image)) {
      await evictQuietly(image.id, image.status === 'active' ? 'image data changed' : `image ${image.status}`);
      return null;
    }
    let handle: FileHandle;
    try {
      handle = await open(pathOf(image.id), 'r');
      const st = await handle.stat();
      if (st.size !== record.size) {
        await handle.close();
        opts.onError('image cache file has the wrong size; evicted, serving from the store', null, { image: image.id, size: st.size, expected: record.size });
        await evictQuietly(image.id, 'wrong size');
        return null;
      }
    } catch (e) {
      opts.onError('image cache file unreadable; evicted, serving from the store', e, { image: image.id });
      await evictQuietly(image.id, 'unreadable');
      return null;
    }
    void track(records.touch(node, image.id, opts.now()).catch((e: unknown) => opts.onError('could not record an image cache hit', e, { image: image.id })));
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    if (range !== null) {
      return { stream: new FileReadStream(handle, { start: range.start, end: range.end, chunkSize }), size: record.size };
    }
    const expected = record.crc32;
    let crc = 0;
    let reported = false;
    const verifier =
      expected === null
        ? undefined
        : {
            chunk: (data: Buffer) => {
              crc = crc32(data, crc);
            },
            intact: () => {
              if (crc === expected) return true;
              if (!reported) {
                reported = true;
                opts.onError('image cache file does not match its checksum; transfer broken, entry evicted', null, { image: image.id });
                void evictQuietly(image.id, 'checksum mismatch');
              }
              return false;
            },
          };
    const stream = new FileReadStream(handle, { end: record.size - 1, chunkSize, ...(verifier ? { verifier } : {}) });
    return { stream, size: record.size };
  }

  function clean(): Promise<CleanResult> {
    return serialized(cleanNow);
  }

  async function cleanNow(): Promise<CleanResult> {
    const now = opts.now();
    let stalled = 0;
    let orphans = 0;
    for (const name of await listDir(incomplete)) {
      const path = join(incomplete, name);
      const st = await stat(path).catch(() => null);
      // Stalled, or written by a process of this node that is gone (a crash): never finishing.
      if (st !== null && (now - st.mtimeMs >= opts.stallTimeMs || writerGone(name))) {
        await removeFile(path, name.split('.')[0] ?? name);
        stalled += 1;
      }
    }
    let invalid = 0;
    for (const id of await records.invalidCached(node)) {
      if (await evict(id, 'image gone, inactive or changed')) invalid += 1;
    }
    const known = new Set((await records.listCached(node)).map((r) => r.imageId));
    for (const name of await listDir(base)) {
      if (name === 'incomplete') continue;
      const st = await stat(pathOf(name)).catch(() => null);
      if (st === null || !st.isFile()) continue;
      if (!known.has(name)) {
        if (now - st.mtimeMs >= opts.stallTimeMs) {
          await removeFile(pathOf(name), name);
          orphans += 1;
        }
      }
    }
    for (const id of known) {
      if ((await stat(pathOf(id)).catch(() => null)) === null && (await evict(id, 'file missing'))) invalid += 1;
    }
    return { stalled, invalid, orphans };
  }

  return {
    /** The node's directory (for messages and tests). */
    directory: base,
    node,
    /** Creates the directories; call once before use. */
    async prepare(): Promise<void> {
      await mkdir(incomplete, { recursive: true, mode: 0o700 });
    },
    fill,
    open: openEntry,
    /** Drops the image's entry on this node (delete, deactivate); true when there was one. */
    invalidate: (imageId: string) => evict(imageId, 'invalidated'),
    /** Drops the image's entry on this node (cache API, iris-manage). */
    deleteCached: (imageId: string) => evict(imageId, 'deleted by request'),
    /** Drops every entry of this node; returns how many. */
    async deleteAllCached(): Promise<number> {
      let n = 0;
      for (const r of await records.listCached(node)) if (await evict(r.imageId, 'cleared by request')) n += 1;
      return n;
    },
    listCached: () => records.listCached(node),
    listQueued: () => records.listQueued(node),
    queue: (imageId: string) => records.queue(node, imageId, opts.now()),
    dequeue: (imageId: string) => records.dequeue(node, imageId),
    clearQueue: () => records.clearQueue(node),
    isCached: async (imageId: string) => (await records.getCached(node, imageId)) !== null,
    prune: () => prune(),
    clean,
    /** Resolves once every commit and eviction started so far has settled. */
    async settled(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/**
 * Whether the process that named an incomplete file (`<id>.<pid>.<random>`) no longer runs.
 * The directory is this node's own, so the pid is a local one.
 */
function writerGone(name: string): boolean {
  const pid = Number(name.split('.')[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return isProcessGone(pid);
}

async function defaultFreeSpace(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

interface TeeHooks {
  /** Opens the incomplete file, or null when the image is not to be cached now. */
  open(): Promise<{ path: string; handle: FileHandle } | null>;
  /** Verifies and commits; false when the data was refused. */
  commit(path: string, handle: FileHandle, digests: { md5: string; multihash: string; crc32: number; size: number }): Promise<boolean>;
  /** Removes whatever was written. */
  discard(path: string | undefined, handle: FileHandle | undefined): Promise<void>;
  onError(message: string, err: unknown): void;
}

/**
 * Passes the store's chunks on to the caller at once and writes them to the incomplete file
 * and the digester meanwhile (the next chunk waits for both: backpressure). Any cache-side
 * failure (disk full, open refused) only stops the caching; the caller's bytes keep flowing.
 * The commit runs after the last chunk went out, so the caller never waits for it.
 */
class CacheTee extends Transform {
  readonly result: Promise<boolean>;
  #resolve!: (kept: boolean) => void;
  #opening: Promise<void>;
  #path: string | undefined;
  #handle: FileHandle | undefined;
  #digester: Digester | undefined;
  #bytes = 0;
  #crc = 0;
  #caching = true;
  #finished = false;

  constructor(
    private readonly image: Image,
    private readonly size: number,
    private readonly hooks: TeeHooks,
  ) {
    super();
    this.result = new Promise((resolve) => (this.#resolve = resolve));
    this.#opening = this.#open();
  }

  async #open(): Promise<void> {
    try {
      const opened = await this.hooks.open();
      if (opened === null) {
        this.#caching = false;
        return;
      }
      this.#path = opened.path;
      this.#handle = opened.handle;
      this.#digester = createDigester(this.image.os_hash_algo ?? 'sha512');
    } catch (e) {
      this.hooks.onError('could not start caching an image; serving without caching', e);
      this.#caching = false;
    }
  }

  async #stopCaching(err: unknown): Promise<void> {
    if (!this.#caching) return;
    this.#caching = false;
    if (err !== undefined) this.hooks.onError('caching an image failed; serving without caching', err);
    this.#digester?.destroy?.();
    await this.hooks.discard(this.#path, this.#handle);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.push(chunk);
    void this.#write(chunk).then(() => callback(), callback);
  }

  async #write(chunk: Buffer): Promise<void> {
    await this.#opening;
    if (!this.#caching) return;
    this.#bytes += chunk.length;
    this.#crc = crc32(chunk, this.#crc);
    try {
      await Promise.all([this.#digester!.update(chunk), this.#handle!.write(chunk)]);
    } catch (e) {
      await this.#stopCaching(e);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#finished = true;
    callback();
    void this.#commit();
  }

  async #commit(): Promise<void> {
    await this.#opening;
    if (!this.#caching || this.#bytes !== this.size) {
      await this.#stopCaching(undefined);
      this.#resolve(false);
      return;
    }
    try {
      const digests = await this.#digester!.digest();
      const kept = await this.hooks.commit(this.#path!, this.#handle!, { ...digests, crc32: this.#crc, size: this.#bytes });
      if (!kept) await this.#stopCaching(undefined);
      this.#caching = false;
      this.#resolve(kept);
    } catch (e) {
      await this.#stopCaching(e);
      this.#resolve(false);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#finished) {
      callback(err);
      return;
    }
    // Ended early (client gone, store failed): nothing of it may stay.
    void this.#opening
      .then(() => this.#stopCaching(undefined))
      .then(() => this.#resolve(false))
      .finally(() => callback(err));
  }
}
