/**
 * The blob store: the one layer above the drivers. It hashes and size-checks uploads in a single
 * pass, lets the default driver commit them atomically, and routes reads and deletes to the
 * driver of a location's scheme.
 */
import { finished, pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange, DataObserver, PutOptions, StoredBlob } from '../domain/ports.js';
import { Gone, Invalid, IrisError } from '../domain/errors.js';
import { localFileOf, type BlobDriver, type FileLink, type FileSink, type LocalFile } from './blob-driver.js';
import { directBodyOf, type DirectBody } from './direct-body.js';
import { TransferError, type TransferLease, type TransferPool } from './fd-transfer.js';
import { createHashingStream } from './hashing-stream.js';
import type { HashingStream } from './hashing-stream.js';
import { ObservingStream } from './observing-stream.js';
import { warnCleanup, type CleanupReporter } from './cleanup-report.js';
import { isDeadLocalWriter } from './writer-identity.js';

/** See `BlobStoreOptions.directMinBytes`. */
const DIRECT_MIN_BYTES = 1024 * 1024;

/** A named store (Glance backend): its id and the driver that moves its bytes. */
export interface BlobBackend {
  readonly id: string;
  readonly driver: BlobDriver;
}

export type BlobStoreOptions = (
  | {
      /** A single store (Glance without enabled_backends); its id is `file`. */
      readonly driver: BlobDriver;
    }
  | {
      /** Named stores, e.g. Glance's `enabled_backends = local:file,fast:file`. */
      readonly backends: readonly BlobBackend[];
      /** Id of the store uploads go to when the caller names none (default: the first). */
      readonly defaultBackend?: string;
    }
) & {
  /** Where a blob that could not be removed after a failed put is reported (default: a process warning). */
  readonly onCleanupError?: CleanupReporter;
  /**
   * `sweep` removes staging objects at least this old (ms; default 0: all of them). Staging
   * objects younger than this may belong to a write still running on another node.
   */
  readonly partialWriteMaxAgeMs?: number;
  /** The clock `sweep` measures ages with (tests). */
  readonly now?: () => number;
  /**
   * Threads that move a request body straight from its socket into a store's file (see
   * direct-body.ts and fd-transfer.ts); absent or null: puts always read the stream.
   */
  readonly transfers?: TransferPool | null;
  /** Bodies shorter than this take the stream (a thread's round trip is not worth it). Default 1 MiB. */
  readonly directMinBytes?: number;
  /** Receives one line per put, get (when its stream closes), delete and swept partial write: pino's debug fits. */
  readonly trace?: (fields: BlobTrace, message: string) => void;
};

/** What a trace line carries: never a location (it may hold credentials). */
export interface BlobTrace {
  readonly op: 'put' | 'get' | 'delete' | 'sweep';
  readonly image?: string | undefined;
  readonly store?: string | undefined;
  readonly bytes?: number;
  readonly ms?: number;
  readonly [more: string]: unknown;
}

/** Longest key: leaves room for a driver's suffixes within the usual 255-byte name limits. */
const MAX_KEY_LENGTH = 200;

/**
 * Refuses a key that is not one safe path segment (Invalid), whatever the driver: drivers build
 * file paths and object names from keys, and must never see `..`, `/` or a hidden name.
 */
export function checkKey(key: string): void {
  const ok =
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    !key.startsWith('.') &&
    !/[/\\\x00-\x1f\x7f]/.test(key);
  if (!ok) throw new Invalid(`Invalid blob key: ${JSON.stringify(key.slice(0, MAX_KEY_LENGTH))}`);
}

/**
 * Creates the blob store over an explicit set of named backends.
 *
 * Beyond the `BlobStore` contract:
 * - `put` never destroys `source`. On failure it stops reading from it and leaves it to the
 *   caller, so that the HTTP layer can still send its 413/400 before dropping the connection
 *   (destroying a Node request stream destroys the socket, and the client would only see a reset).
 * - when `signal` aborts, `put` rejects with the signal's reason if that is an IrisError, and
 *   otherwise with the `AbortError` the streams report.
 * - a source that errors or closes before its end (a client gone mid-upload) becomes Invalid.
 * - `get` and `delete` route by the store id given; without one, to the default store when its
 *   scheme matches the location, else to the first store of that scheme. `get` throws Invalid
 *   for a range on a driver without ranged reads.
 *
 * @example
 * const blobs = createBlobStore({ backends: [{ id: 'local', driver: createFilesystemDriver({ dir }) }] });
 * const blob = await blobs.put(id, request.raw, { sizeCap, hashAlgo: 'sha512', expectedSize });
 * @throws Error when two backends share an id, or the default names none of them.
 */
export function createBlobStore(opts: BlobStoreOptions): BlobStore {
  const backends: readonly BlobBackend[] = 'driver' in opts ? [{ id: 'file', driver: opts.driver }] : opts.backends;
  const byId = new Map<string, BlobDriver>();
  for (const backend of backends) {
    if (byId.has(backend.id)) throw new Error(`Two blob stores registered with id ${backend.id}`);
    byId.set(backend.id, backend.driver);
  }
  const directMinBytes = opts.directMinBytes ?? DIRECT_MIN_BYTES;
  const defaultId = ('driver' in opts ? undefined : opts.defaultBackend) ?? backends[0]?.id;
  const defaultDriver = defaultId === undefined ? undefined : byId.get(defaultId);
  if (defaultId === undefined || defaultDriver === undefined) throw new Error(`No blob store with id ${String(defaultId)}`);

  function driverFor(location: string, store?: string | null): BlobDriver {
    if (store !== undefined && store !== null) {
      const named = byId.get(store);
      if (named) return named;
      throw new Invalid(`Store for identifier ${store} not found`);
    }
    const colon = location.indexOf(':');
    const scheme = colon > 0 ? location.slice(0, colon) : '';
    if (handles(defaultDriver!, scheme)) return defaultDriver!;
    const driver = backends.find((b) => handles(b.driver, scheme))?.driver;
    // No location in the message: it could reach an API client.
    if (!driver) throw new Invalid('No configured store handles this image location');
    return driver;
  }

  async function put(imageId: string, source: Readable, putOpts: PutOptions): Promise<StoredBlob> {
    const { signal, hashAlgo } = putOpts;
    // Before any driver sees it: a driver may build paths or object names from the key.
    checkKey(imageId);
    signal?.throwIfAborted();
    const started = performance.now();
    const storeId = putOpts.store ?? defaultId!;
    const driver = byId.get(storeId);
    if (!driver) throw new Invalid(`Store for identifier ${storeId} not found`);
    if (!driver.capabilities.writable) {
      // Glance's StoreAddDisabled, which its image data API answers with 410.
      throw new Gone('Error in store configuration. Adding images to store is disabled.');
    }
    const local = localFileOf(source);
    if (
      local &&
      // Nobody has read from it yet: the file is all the data the put is to store.
      !source.readableDidRead &&
      source.readableLength === 0 &&
      driver.linkFile &&
      (putOpts.expectedSize === undefined || putOpts.expectedSize === local.size) &&
      local.size >= directMinBytes &&
      local.size <= putOpts.sizeCap &&
      (!putOpts.observer || putOpts.observer.portable)
    ) {
      const lease = opts.transfers?.tryLease();
      if (lease) {
        const linked = await putLinked({ imageId, storeId, linkFile: driver.linkFile.bind(driver), local, lease, putOpts, started });
        if (linked) return linked;
      }
    }
    const direct = directBodyOf(source);
    if (
      direct &&
      driver.openFile &&
      direct.length === putOpts.expectedSize &&
      direct.length >= directMinBytes &&
      direct.length <= putOpts.sizeCap &&
      (!putOpts.observer || putOpts.observer.portable)
    ) {
      const lease = opts.transfers?.tryLease();
      if (lease) {
        const taken = (await lease.ready()) ? direct.take() : null;
        if (taken) return putDirect({ imageId, storeId, openFile: driver.openFile.bind(driver), direct, taken, lease, putOpts, started });
        lease.release();
      }
    }
    const hasher = createHashingStream({ hashAlgo, sizeCap: putOpts.sizeCap, expectedSize: putOpts.expectedSize });
    const stopFeeding = feed(source, hasher);
    // The observer (format inspection) runs after the hasher, in the same pass; it can veto
    // the data before the driver commits it.
    const body = putOpts.observer ? observe(hasher, putOpts.observer) : hasher;
    let location: string | undefined;
    try {
      const written = await driver.write(imageId, body, {
        ...(signal ? { signal } : {}),
        ...(putOpts.expectedSize !== undefined ? { sizeHint: putOpts.expectedSize } : {}),
      });
      location = written.location;
      // A driver may return once it has the declared bytes, before the last digest is out.
      const { size, md5, multihash } = await hasher.finished();
      if (written.bytes !== size) {
        throw new Error(`Blob store ${storeId} stored ${written.bytes} bytes of ${size}`);
      }
      trace({ op: 'put', image: imageId, store: storeId, bytes: size, ms: elapsed(started) }, 'blob written');
      return { location, store: storeId, size, checksum: md5, os_hash_algo: hashAlgo, os_hash_value: multihash };
    } catch (err) {
      trace({ op: 'put', image: imageId, store: storeId, bytes: hasher.bytes, ms: elapsed(started), failed: errorName(err) }, 'blob write failed');
      // The driver removes its own staging data on failure; only a committed object is ours to
      // remove, and failing to remove it must not hide the original error.
      if (location !== undefined) {
        await driver.delete(location).catch((e: unknown) => {
          (opts.onCleanupError ?? warnCleanup)('could not delete the blob of a failed write; orphan left', e, { image: imageId, location });
        });
      }
      // A caller aborting with a domain error (the HTTP layer's "client disconnected") wants that
      // error back, not the generic AbortError the streams report.
      if (signal?.aborted && signal.reason instanceof IrisError) throw signal.reason;
      throw err;
    } finally {
      stopFeeding();
      if (!hasher.destroyed) hasher.destroy();
      if (!body.destroyed) body.destroy();
    }
  }

  /**
   * A put whose body a transfer thread reads straight from the client's socket into the store's
   * file, hashing and observing it on the way; the same checks and the same errors as the
   * streaming path, and the same commit (fsync, rename, directory fsync).
   */
  async function putDirect(p: {
    imageId: string;
    storeId: string;
    openFile: (key: string) => Promise<FileSink>;
    direct: DirectBody;
    taken: { fd: number; head: readonly Buffer[] };
    lease: TransferLease;
    putOpts: PutOptions;
    started: number;
  }): Promise<StoredBlob> {
    const { imageId, storeId, direct, lease, putOpts } = p;
    const { signal, hashAlgo } = putOpts;
    const portable = putOpts.observer?.portable;
    let sink: FileSink | undefined;
    let complete = false;
    let bytes = 0;
    try {
      try {
        sink = await p.openFile(imageId);
      } catch (err) {
        lease.release();
        throw err;
      }
      // The lease is the thread's from here: `receive` gives it back however it ends.
      const received = await lease.receive(
        {
          socketFd: p.taken.fd,
          head: p.taken.head,
          length: direct.length,
          fileFd: sink.fd,
          flushBytes: sink.flushBytes,
          hashAlgo,
          idleMs: direct.idleMs,
          ...(portable ? { observer: { module: portable.module, options: portable.options } } : {}),
        },
        signal,
      );
      complete = true;
      bytes = received.bytes;
      direct.release(true, received.socketBytes);
      // The observer's verdict comes before the commit: refused data is never stored.
      portable?.conclude(received.observed);
      const written = await sink.commit(received.bytes);
      sink = undefined;
      trace({ op: 'put', image: imageId, store: storeId, bytes, ms: elapsed(p.started), direct: true }, 'blob written');
      return {
        location: written.location,
        store: storeId,
        size: received.bytes,
        checksum: received.md5,
        os_hash_algo: hashAlgo,
        os_hash_value: received.multihash,
      };
    } catch (err) {
      if (!complete) direct.release(false, err instanceof TransferError ? err.socketBytes : 0);
      const failure = directFailure(err, direct, signal);
      trace({ op: 'put', image: imageId, store: storeId, bytes, ms: elapsed(p.started), failed: errorName(failure), direct: true }, 'blob write failed');
      throw sink ? await sink.abort(failure) : failure;
    }
  }

  /**
   * A put of a whole local file into a store that can link it (a staged image imported into a
   * filesystem store): the file becomes the store's object by a hard link, and a transfer thread
   * reads it once for the digests and the observer. The same checks and errors as the streaming
   * path, and the same durability (fsync, rename, directory fsync). Null, with the lease given
   * back, when the store cannot link this file: the caller streams it.
   */
  async function putLinked(p: {
    imageId: string;
    storeId: string;
    linkFile: (key: string, file: LocalFile) => Promise<FileLink | null>;
    local: LocalFile;
    lease: TransferLease;
    putOpts: PutOptions;
    started: number;
  }): Promise<StoredBlob | null> {
    const { imageId, storeId, local, lease, putOpts } = p;
    const { signal, hashAlgo } = putOpts;
    const portable = putOpts.observer?.portable;
    let link: FileLink | null = null;
    try {
      if (await lease.ready()) link = await p.linkFile(imageId, local);
    } finally {
      if (!link) lease.release();
    }
    if (!link) return null;
    try {
      // The lease is the thread's from here: `digest` gives it back however it ends.
      const digested = await lease.digest(
        {
          fileFd: local.fd,
          length: local.size,
          hashAlgo,
          ...(portable ? { observer: { module: portable.module, options: portable.options } } : {}),
        },
        signal,
      );
      // The observer's verdict comes before the commit: refused data is never stored.
      portable?.conclude(digested.observed);
      const written = await link.commit();
      if (written.bytes !== digested.bytes) throw new Error(`Blob store ${storeId} linked ${written.bytes} bytes of ${digested.bytes}`);
      trace({ op: 'put', image: imageId, store: storeId, bytes: digested.bytes, ms: elapsed(p.started), linked: true }, 'blob written');
      return {
        location: written.location,
        store: storeId,
        size: digested.bytes,
        checksum: digested.md5,
        os_hash_algo: hashAlgo,
        os_hash_value: digested.multihash,
      };
    } catch (err) {
      const failure = linkFailure(err, signal);
      trace({ op: 'put', image: imageId, store: storeId, ms: elapsed(p.started), failed: errorName(failure), linked: true }, 'blob write failed');
      throw await link.abort(failure);
    }
  }

  async function get(
    location: string,
    getOpts: { range?: ByteRange; signal?: AbortSignal; store?: string | null; image?: string } = {},
  ): Promise<{ stream: Readable; size: number }> {
    const driver = driverFor(location, getOpts.store);
    if (getOpts.range && !driver.capabilities.rangedReads) {
      // Glance answers StoreRandomGetNotSupported with 400.
      throw new Invalid('The store holding this image does not support ranged reads');
    }
    const started = performance.now();
    const { range, signal } = getOpts;
    const opened = await driver.read(location, { ...(range ? { range } : {}), ...(signal ? { signal } : {}) });
    if (opts.trace) {
      const store = getOpts.store ?? storeIdOf(driver);
      const bytes = range ? range.end - range.start + 1 : opened.size;
      // 'close' does not change how the stream flows; complete tells a full read from an abandoned one.
      opened.stream.once('close', () => {
        trace({ op: 'get', image: getOpts.image, store, bytes, ms: elapsed(started), complete: opened.stream.readableEnded }, 'blob read');
      });
    }
    return opened;
  }

  async function locate(location: string, { signal }: { signal?: AbortSignal } = {}): Promise<{ size: number; store: string }> {
    const driver = driverFor(location);
    const store = storeIdOf(driver)!;
    if (driver.size) return { size: await driver.size(location, signal ? { signal } : {}), store };
    const opened = await driver.read(location, signal ? { signal } : {});
    opened.stream.destroy();
    return { size: opened.size, store };
  }

  async function remove(location: string, store?: string | null): Promise<void> {
    const driver = driverFor(location, store);
    const started = performance.now();
    await driver.delete(location);
    trace({ op: 'delete', store: store ?? storeIdOf(driver), ms: elapsed(started) }, 'blob deleted');
  }

  function trace(fields: BlobTrace, message: string): void {
    opts.trace?.(fields, message);
  }

  function storeIdOf(driver: BlobDriver): string | undefined {
    return backends.find((b) => b.driver === driver)?.id;
  }

  async function sweep(): Promise<number> {
    const maxAge = opts.partialWriteMaxAgeMs ?? 0;
    const now = (opts.now ?? Date.now)();
    let removed = 0;
    for (const [store, driver] of byId) {
      if (!driver.capabilities.writable) continue;
      // A remote store that is down at start must not keep the API down (Glance starts and
      // fails only the requests that need that store): report it and sweep it next start.
      try {
        for (const staged of await driver.listStaging()) {
          // Younger ones may be another node's write in progress, unless their writer was a
          // process of this node that is gone (a crash).
          const abandoned = staged.writer !== undefined && isDeadLocalWriter(staged.writer);
          if (!abandoned && now - staged.modifiedAt.getTime() < maxAge) continue;
          await driver.removeStaging(staged.id);
          trace({ op: 'sweep', image: staged.key, store, ageMs: now - staged.modifiedAt.getTime() }, 'abandoned partial write removed');
          removed += 1;
        }
      } catch (e) {
        (opts.onCleanupError ?? warnCleanup)('could not remove abandoned partial writes of this store; left for the next start', e, { store });
      }
    }
    return removed;
  }

  async function inUse(location: string, store?: string | null): Promise<boolean> {
    try {
      const driver = driverFor(location, store);
      return driver.inUse ? await driver.inUse(location) : false;
    } catch (err) {
      // A location no store here can handle has no dependants Iris could know of; its delete
      // fails on its own and is logged as an orphan. Other errors (the store unreachable) stop
      // the delete, as Glance's.
      if (err instanceof Invalid) return false;
      throw err;
    }
  }

  async function close(): Promise<void> {
    await Promise.all(
      backends.map(async ({ id, driver }) => {
        try {
          await driver.close?.();
        } catch (e) {
          (opts.onCleanupError ?? warnCleanup)('could not close the store', e, { store: id });
        }
      }),
    );
  }

  return {
    put,
    locate,
    get,
    delete: remove,
    inUse,
    sweep,
    close,
    has: (id: string) => byId.has(id),
    stores: backends.map((b) => b.id),
    defaultStore: defaultId,
  };
}

/**
 * Pipes `source` into `hasher` without handing `source` to `pipeline`, which would destroy it
 * on any error (see `createBlobStore`). A source error, or a source closed before its end,
 * fails the hasher with Invalid, which fails the driver's write. Returns the undo.
 */
function feed(source: Readable, hasher: HashingStream): () => void {
  const stopWatching = finished(source, { writable: false }, (err) => {
    if (!err) return;
    hasher.destroy(
      err instanceof IrisError
        ? err
        : new Invalid('Client disconnected before sending all image data', { cause: err }),
    );
  });
  // The hasher can fail before the driver has attached to it (the driver may still be creating
  // its staging file); without a listener that error would be uncaught. The driver still sees
  // it: pipeline reports the error of a stream that has already failed.
  hasher.on('error', ignore);
  source.pipe(hasher);
  return () => {
    stopWatching();
    source.unpipe(hasher);
  };
}

/** The error a direct put reports for `err`: what the streaming path reports in the same case. */
function directFailure(err: unknown, direct: DirectBody, signal: AbortSignal | undefined): unknown {
  if (!(err instanceof TransferError)) return err;
  switch (err.failure) {
    case 'eof':
      return direct.endedError();
    case 'source':
      return new Invalid('Client disconnected before sending all image data', { cause: err });
    case 'idle':
      return direct.idleError();
    case 'aborted':
      return abortReason(signal);
    case 'sink':
      // The file's own error (ENOSPC becomes StorageFull in the driver's abort).
      return Object.assign(new Error(err.message, { cause: err }), err.code ? { code: err.code } : {});
    default:
      return err;
  }
}

/** What a thread's transfer aborted by the caller reports: the signal's reason, or an AbortError. */
function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.aborted && signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/** The error a linked put reports for `err`: a caller's abort as the streaming path reports it. */
function linkFailure(err: unknown, signal: AbortSignal | undefined): unknown {
  if (!(err instanceof TransferError)) return err;
  if (err.failure === 'aborted') return abortReason(signal);
  // The file ended early or could not be read: a fault of the store's disk, not of a request.
  return Object.assign(new Error(`Reading the file to link failed: ${err.message}`, { cause: err }), err.code ? { code: err.code } : {});
}

/** Chains the observer stage after the hasher; an error on either side fails both. */
function observe(hasher: HashingStream, observer: DataObserver): ObservingStream {
  const stage = new ObservingStream(observer);
  // The driver sees the failure through `stage`; this callback has nothing to add.
  pipeline(hasher, stage, ignore);
  return stage;
}

function ignore(): void {}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** Whether `driver` reads locations of `scheme`. */
function handles(driver: BlobDriver, scheme: string): boolean {
  return driver.scheme === scheme || (driver.schemes?.includes(scheme) ?? false);
}
