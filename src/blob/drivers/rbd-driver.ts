/**
 * The rbd store (glance_store `_drivers/rbd.py`): one RBD image per Glance image, with a
 * protected snapshot `snap` that Nova and Cinder clone copy-on-write, at the location
 * `rbd://<fsid>/<pool>/<image>/snap`. The fsid-less `rbd://<image>` that old Glance databases
 * hold is read and deleted too (the head of the image, in the store's pool).
 *
 * Differences from Glance, all on the safe side:
 * - a write goes to a staging image (`iris-partial.<uuid>.<key>`) renamed to the key once its
 *   snapshot is protected, so nothing is visible at the location until every byte is stored,
 *   and a crashed write is listed by listStaging;
 * - reads honour the offset (Glance's always start at byte 0);
 * - writes and reads keep a few librbd calls in flight instead of one.
 */
import { randomUUID } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import { Conflict, InUseByStore, Invalid, NotFound, RangeNotSatisfiable, StorageFull } from '../../domain/errors.js';
import type { ByteRange } from '../../domain/ports.js';
import type { BlobDriver, ReadResult, StagingObject, WriteResult } from '../blob-driver.js';
import type { RbdDriverOptions } from '../store-options.js';
import { IoCtx, RadosCluster, RBD_FEATURE_LAYERING, RbdError, type RbdImage } from './librbd.js';

/** Glance's snapshot name. */
export const SNAPSHOT = 'snap';
const STAGING_PREFIX = 'iris-partial.';
const MiB = 1024 * 1024;
/** Glance grows an image of unknown size by a doubling step, up to 8 GiB at a time. */
const MAX_RESIZE_STEP = 8 * 1024 * MiB;
/** librbd read size; Glance reads a whole chunk (8 MiB by default), 4 MiB keeps memory lower. */
const MAX_READ_SIZE = 4 * MiB;

/** Glance's HasSnapshot text. */
export const HAS_SNAPSHOT_MESSAGE = 'The image cannot be deleted because it has snapshot(s).';


/** A parsed rbd location; `fsid`, `pool` and `snapshot` are null in the short form. */
export interface RbdLocation {
  readonly fsid: string | null;
  readonly pool: string | null;
  readonly image: string;
  readonly snapshot: string | null;
}

/**
 * Parses `rbd://<image>` or `rbd://<fsid>/<pool>/<image>/<snap>` (components URL-quoted) as
 * glance_store does. @throws Invalid for any other shape, or an empty component.
 */
export function parseRbdLocation(location: string): RbdLocation {
  const prefix = 'rbd://';
  if (!location.startsWith(prefix)) throw new Invalid(`not an rbd location`);
  const pieces = location.slice(prefix.length).split('/');
  if (pieces.some((p) => p === '')) throw new Invalid('rbd location with an empty component');
  let parts: string[];
  try {
    parts = pieces.map((p) => decodeURIComponent(p));
  } catch {
    throw new Invalid('rbd location with a bad %-escape');
  }
  if (parts.length === 1) return { fsid: null, pool: null, image: parts[0]!, snapshot: null };
  if (parts.length === 4) return { fsid: parts[0]!, pool: parts[1]!, image: parts[2]!, snapshot: parts[3]! };
  throw new Invalid('rbd location must have exactly 1 or 4 components');
}

/** The full location of an image of this store (Glance's own form). */
export function rbdLocation(fsid: string, pool: string, image: string): string {
  return `rbd://${[fsid, pool, image, SNAPSHOT].map((p) => encodeURIComponent(p)).join('/')}`;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof RbdError && codes.includes(err.code);
}

function allZero(buf: Buffer): boolean {
  // Compare 8 bytes at a time; buffers here are whole chunks (MiBs).
  const words = Math.floor(buf.length / 8);
  for (let i = 0; i < words; i++) if (buf.readBigUInt64LE(i * 8) !== 0n) return false;
  for (let i = words * 8; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

interface Connection {
  readonly cluster: RadosCluster;
  readonly fsid: string;
  /** Open pools by name (the store's own, and any a location names). */
  readonly pools: Map<string, Promise<IoCtx>>;
}

/**
 * A write of this process still running. removeStaging (the sweep) may evict it: its image is
 * removed at once, and the write fails at its next librbd call instead of racing the removal.
 */
class WriteSession {
  image: RbdImage | undefined;
  private evicting: Promise<void> | undefined;
  /** Every librbd call of this write still running. */
  private readonly pending = new Set<Promise<unknown>>();

  /** Runs one librbd call of the write, unless the write was evicted. */
  run<T>(op: () => Promise<T>): Promise<T> {
    if (this.evicting) return Promise.reject(new Error('partial write removed while it was running'));
    const p = op();
    const tracked = p.then(
      () => void this.pending.delete(tracked),
      () => void this.pending.delete(tracked),
    );
    this.pending.add(tracked);
    return p;
  }

  get evicted(): Promise<void> | undefined {
    return this.evicting;
  }

  /** Stops the write's librbd calls, waits for those running, then runs `remove`. */
  evict(remove: (image: RbdImage | undefined) => Promise<void>): Promise<void> {
    this.evicting ??= (async () => {
      await Promise.allSettled([...this.pending]);
      const image = this.image;
      this.image = undefined;
      await remove(image);
    })();
    return this.evicting;
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/**
 * @example
 *   const driver = createRbdDriver({ rbd_store_pool: 'images', rbd_store_user: 'glance',
 *     rbd_store_ceph_conf: '/etc/ceph/ceph.conf', rbd_store_chunk_size: 8, rados_connect_timeout: 0,
 *     rbd_thin_provisioning: false, storeId: 'ceph', onCleanupError });
 */
export function createRbdDriver(opts: RbdDriverOptions): BlobDriver & {
  /** Whether clones depend on the image at `location` (its deletion would be refused). */
  inUse(location: string): Promise<boolean>;
  close(): Promise<void>;
} {
  const chunkSize = opts.rbd_store_chunk_size * MiB;
  // Glance: order = log2(chunk size); a chunk that is not a power of two rounds down.
  const order = Math.floor(Math.log2(chunkSize));
  const writesInFlight = opts.writesInFlight ?? 3;
  const readsInFlight = opts.readsInFlight ?? 3;
  const readSize = Math.min(chunkSize, MAX_READ_SIZE);
  const running = new Map<string, WriteSession>();
  let connection: Promise<Connection> | undefined;

  /** One connection per store, made on first use; a failed attempt is retried by the next call. */
  function connect(): Promise<Connection> {
    connection ??= (async () => {
      const cluster = await RadosCluster.connect({
        conf: opts.rbd_store_ceph_conf,
        user: opts.rbd_store_user,
        connectTimeoutSec: opts.rados_connect_timeout,
      });
      return { cluster, fsid: cluster.fsid(), pools: new Map() };
    })();
    connection.catch(() => (connection = undefined));
    return connection;
  }

  async function pool(conn: Connection, name: string): Promise<IoCtx> {
    let io = conn.pools.get(name);
    if (!io) {
      io = conn.cluster.ioctx(name);
      conn.pools.set(name, io);
      io.catch(() => conn.pools.delete(name));
    }
    return io;
  }

  /** Image features as Glance picks them: ceph.conf's rbd_default_features, layering when 0. */
  function features(conn: Connection): number {
    const configured = Number(conn.cluster.confGet('rbd_default_features') ?? 0);
    return Number.isInteger(configured) && configured > 0 ? configured : RBD_FEATURE_LAYERING;
  }

  /** The pool, image and snapshot a location names, checked to be on this cluster. */
  async function resolve(location: string): Promise<{ conn: Connection; io: IoCtx; loc: RbdLocation }> {
    const loc = parseRbdLocation(location);
    if (loc.image.startsWith(STAGING_PREFIX)) throw new Invalid('rbd location of an unfinished write');
    const conn = await connect();
    if (loc.fsid !== null && loc.fsid !== conn.fsid) throw new Invalid('rbd location on another Ceph cluster');
    const io = await pool(conn, loc.pool ?? opts.rbd_store_pool);
    return { conn, io, loc };
  }

  /** Removes an image and its snapshot; missing ones are fine. @throws InUseByStore, Conflict. */
  async function removeImage(io: IoCtx, name: string, snapshot: string | null): Promise<void> {
    if (snapshot !== null) {
      let image: RbdImage;
      try {
        image = await io.open(name);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return;
        throw err;
      }
      try {
        if ((await image.childCount(snapshot).catch((e: unknown) => (isCode(e, 'ENOENT') ? 0 : Promise.reject(e)))) > 0) {
          throw new InUseByStore();
        }
        try {
          await image.snapUnprotect(snapshot);
        } catch (err) {
          // EINVAL: already unprotected; ENOENT: no such snapshot (both fine, as Glance).
          if (isCode(err, 'EBUSY')) throw new InUseByStore();
          if (!isCode(err, 'EINVAL', 'ENOENT')) throw err;
        }
        await image.snapRemove(snapshot).catch((err: unknown) => {
          if (!isCode(err, 'ENOENT')) throw err;
        });
      } finally {
        await image.close();
      }
    }
    try {
      await io.remove(name);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      if (isCode(err, 'ENOTEMPTY')) throw new Conflict(HAS_SNAPSHOT_MESSAGE, { cause: err });
      if (isCode(err, 'EBUSY')) throw new InUseByStore();
      throw err;
    }
  }

  async function write(
    key: string,
    source: Readable,
    { signal, sizeHint }: { readonly signal?: AbortSignal; readonly sizeHint?: number } = {},
  ): Promise<WriteResult> {
    signal?.throwIfAborted();
    const conn = await connect();
    const io = await pool(conn, opts.rbd_store_pool);
    const staging = `${STAGING_PREFIX}${randomUUID()}.${key}`;
    const session = new WriteSession();
    running.set(staging, session);
    try {
      const bytes = await writeStaged(io, staging, key, source, session, signal, sizeHint ?? 0);
      return { location: rbdLocation(conn.fsid, opts.rbd_store_pool, key), bytes };
    } finally {
      running.delete(staging);
    }
  }

  /** Streams `source` into a new staging image, snapshots it, then renames it to `key`. */
  async function writeStaged(
    io: IoCtx,
    staging: string,
    key: string,
    source: Readable,
    session: WriteSession,
    signal: AbortSignal | undefined,
    initialSize: number,
  ): Promise<number> {
    const run = session.run.bind(session);
    const failure: { error?: unknown } = {};
    let snapped = false;
    try {
      // As Glance: created at the declared size when there is one; otherwise empty, grown ahead
      // of the data by a doubling step and trimmed to the bytes received at the end.
      await run(async () => io.create(staging, initialSize, features(await connect()), order));
      session.image = await run(() => io.open(staging));
      const img = session.image;
      const writes = new Set<Promise<void>>();
      const settle = async (): Promise<void> => {
        await Promise.allSettled([...writes]);
        if ('error' in failure) throw failure.error;
      };
      let size = initialSize;
      let step = chunkSize;
      let offset = 0;
      const submit = async (chunk: Buffer): Promise<void> => {
        if (offset + chunk.length > size) {
          // Resizing under this handle's own writes is avoided: let them land first.
          await settle();
          while (size < offset + chunk.length) {
            size += step;
            step = Math.min(step * 2, MAX_RESIZE_STEP);
          }
          await run(() => img.resize(size));
        }
        const at = offset;
        offset += chunk.length;
        // Thin provisioning: a chunk of zeros is left unwritten (it reads back as zeros).
        if (opts.rbd_thin_provisioning && allZero(chunk)) return;
        const p = run(() => img.write(at, chunk)).catch((e: unknown) => {
          if (!('error' in failure)) failure.error = e;
        });
        writes.add(p);
        void p.finally(() => writes.delete(p));
        if (writes.size >= writesInFlight) await Promise.race(writes);
        if ('error' in failure) throw failure.error;
      };

      if (signal) addAbortSignal(signal, source);
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const piece of source as AsyncIterable<Buffer | string>) {
        let buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        while (buf.length > 0) {
          const take = Math.min(buf.length, chunkSize - pendingBytes);
          pending.push(buf.subarray(0, take));
          pendingBytes += take;
          buf = buf.subarray(take);
          if (pendingBytes === chunkSize) {
            // A copy: the source may reuse its buffers once handed over.
            await submit(Buffer.concat(pending, pendingBytes));
            pending = [];
            pendingBytes = 0;
          }
        }
      }
      if (pendingBytes > 0) await submit(Buffer.concat(pending, pendingBytes));
      await settle();
      signal?.throwIfAborted();
      if (size !== offset) await run(() => img.resize(offset));
      await run(() => img.flush());
      await run(() => img.snapCreate(SNAPSHOT));
      snapped = true;
      await run(() => img.snapProtect(SNAPSHOT));
      session.image = undefined;
      await run(() => img.close());
      signal?.throwIfAborted();
      // Writing a key again replaces the image (the contract); clones of the old one refuse it.
      await run(() => removeImage(io, key, SNAPSHOT));
      await run(() => io.rename(staging, key));
      return offset;
    } catch (err) {
      const evicted = session.evicted;
      if (evicted) {
        // removeStaging has removed (or is removing) the image.
        await evicted.catch(() => undefined);
      } else {
        await session.drain();
        const image = session.image;
        session.image = undefined;
        if (image) await image.close().catch((e: unknown) => cleanupFailed('could not close a failed rbd write', e, key, staging));
        await removeImage(io, staging, snapped ? SNAPSHOT : null).catch((e: unknown) =>
          cleanupFailed('could not remove the rbd image of a failed write; partial write left', e, key, staging),
        );
      }
      if (isCode(err, 'ENOSPC', 'EDQUOT')) throw new StorageFull('Image storage media is full', { cause: err });
      throw err;
    }
  }

  function cleanupFailed(message: string, error: unknown, key: string, staging: string): void {
    opts.onCleanupError(message, error, { image: key, store: opts.storeId, rbd_image: `${opts.rbd_store_pool}/${staging}` });
  }

  async function read(location: string, { range, signal }: { readonly range?: ByteRange; readonly signal?: AbortSignal } = {}): Promise<ReadResult> {
    signal?.throwIfAborted();
    const { io, loc } = await resolve(location);
    let image: RbdImage;
    try {
      image = await io.open(loc.image, { snap: loc.snapshot, readOnly: true });
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new NotFound(`RBD image ${loc.image} does not exist`, { cause: err });
      throw err;
    }
    let size: number;
    try {
      size = await image.size();
      if (range && (range.start >= size || range.end >= size || range.start > range.end)) {
        throw new RangeNotSatisfiable(`Range ${range.start}-${range.end} is outside the ${size} bytes of the image`, size);
      }
    } catch (err) {
      await image.close();
      throw err;
    }
    const stream = new SnapshotReadStream(image, range?.start ?? 0, range ? range.end + 1 : size, readSize, readsInFlight, (e) =>
      opts.onCleanupError('could not close an rbd image after reading it', e, { store: opts.storeId, rbd_image: `${loc.pool ?? opts.rbd_store_pool}/${loc.image}` }),
    );
    if (signal) addAbortSignal(signal, stream);
    return { stream, size };
  }

  async function remove(location: string): Promise<void> {
    const { io, loc } = await resolve(location);
    await removeImage(io, loc.image, loc.snapshot);
  }

  async function inUse(location: string): Promise<boolean> {
    const { io, loc } = await resolve(location);
    if (loc.snapshot === null) return false;
    let image: RbdImage;
    try {
      image = await io.open(loc.image);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    }
    try {
      return (await image.childCount(loc.snapshot)) > 0;
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    } finally {
      await image.close();
    }
  }

  async function listStaging(): Promise<StagingObject[]> {
    const conn = await connect();
    const io = await pool(conn, opts.rbd_store_pool);
    const out: StagingObject[] = [];
    for (const name of await io.list()) {
      if (!name.startsWith(STAGING_PREFIX)) continue;
      const key = name.slice(STAGING_PREFIX.length + 37); // past "<uuid>."
      let image: RbdImage;
      try {
        image = await io.open(name, { readOnly: true });
      } catch (err) {
        if (isCode(err, 'ENOENT')) continue; // finished or removed meanwhile
        throw err;
      }
      try {
        out.push({ id: name, key, modifiedAt: await image.modifiedAt() });
      } finally {
        await image.close();
      }
    }
    return out;
  }

  async function removeStaging(id: string): Promise<void> {
    if (!id.startsWith(STAGING_PREFIX) || id.includes('/')) throw new Invalid(`not an rbd staging image: ${id}`);
    const conn = await connect();
    const io = await pool(conn, opts.rbd_store_pool);
    const mine = running.get(id);
    if (mine) {
      // Our own write holds the image open (librbd refuses to remove a watched image): its
      // handle is closed first, and the write fails at its next step.
      await mine.evict(async (image) => {
        await image?.close();
        await removeImage(io, id, SNAPSHOT);
      });
      return;
    }
    await removeImage(io, id, SNAPSHOT);
  }

  /** Drops the cluster connection (librados keeps threads and mon sessions until shut down). */
  async function close(): Promise<void> {
    const open = connection;
    connection = undefined;
    const conn = await open?.catch(() => undefined);
    if (!conn) return;
    for (const io of await Promise.allSettled(conn.pools.values())) {
      if (io.status === 'fulfilled') io.value.destroy();
    }
    conn.pools.clear();
    conn.cluster.shutdown();
  }

  return {
    scheme: 'rbd',
    capabilities: { writable: true, rangedReads: true },
    write,
    read,
    delete: remove,
    inUse,
    listStaging,
    removeStaging,
    close,
  };
}

/**
 * Bytes [start, end) of an open image, `depth` reads of `size` bytes kept in flight. The image
 * is closed once the stream ends or is destroyed, after every read in flight has returned.
 */
class SnapshotReadStream extends Readable {
  private next: number;
  /** Reads issued and not yet pushed, in offset order. */
  private readonly queue: Array<Promise<Buffer>> = [];
  /** Every read still running on the pool, pushed or not: close waits for them. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly image: RbdImage,
    start: number,
    private readonly end: number,
    private readonly size: number,
    private readonly depth: number,
    /** A close failing after every byte was delivered: the reader is gone, so it is reported here. */
    private readonly onCloseError: (error: unknown) => void,
  ) {
    super({ highWaterMark: size });
    this.next = start;
  }

  private fill(): void {
    while (this.queue.length < this.depth && this.next < this.end) {
      const len = Math.min(this.size, this.end - this.next);
      const p = this.image.read(this.next, Buffer.allocUnsafe(len));
      const settled: Promise<void> = p.then(
        () => void this.running.delete(settled),
        () => void this.running.delete(settled),
      );
      this.running.add(settled);
      this.queue.push(p);
      this.next += len;
    }
  }

  override _read(): void {
    this.fill();
    const head = this.queue.shift();
    if (!head) {
      this.push(null);
      return;
    }
    head.then(
      (buf) => {
        if (this.destroyed) return;
        if (buf.length === 0) {
          this.destroy(new Error(`${this.image.spec}: read returned no bytes before the end`));
          return;
        }
        this.push(buf);
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // librbd must not close an image under reads still running on the pool.
    void Promise.allSettled([...this.running]).then(() =>
      this.image.close().then(
        () => callback(err),
        (closeErr: unknown) => {
          if (err) return callback(err);
          // An 'error' after 'end' would reach no listener (an uncaught exception): the data
          // was whole, so the failed close is only worth a log line.
          this.onCloseError(closeErr);
          callback(null);
        },
      ),
    );
  }
}
