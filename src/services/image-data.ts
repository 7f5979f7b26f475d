/**
 * Image data use cases: upload (queued → saving → active) and download.
 *
 * Upload protocol (STYLE.md): compare-and-swap queued→saving; stream into the blob store
 * (hashing in the same pass, temp file + fsync + rename); compare-and-swap saving→active with
 * the checksums. Any failure deletes the blob and puts the image back to `queued`.
 */
import type { Readable } from 'node:stream';
import type { RequestContext } from '../domain/context.js';
import { Conflict, Forbidden, Gone, Invalid, NotFound, RangeNotSatisfiable, TooLarge } from '../domain/errors.js';
import { resolveRange, type RangeRequest } from '../blob/range.js';
import { assertReadyForData, locationOf, storeOf, transition, type Image } from '../domain/image.js';
import type { Policy } from '../domain/policy.js';
import type { BlobStore, ByteRange, Clock, DownloadCache, ImageRepository, Notifier, StoredBlob, TransferLeaseHolder } from '../domain/ports.js';
import type { ImageService } from './images.js';
import { createUploadCheck } from '../format/upload-check.js';
import type { FormatCheckOptions } from '../format/upload-check.js';
import type { QuotaService, StorageHold } from './quotas.js';
import { imagePayload, imageSendPayload, importProgressPayload } from '../notify/event-payloads.js';
import { uploadFailureText } from '../notify/error-notifications.js';

export interface ImageDataDeps {
  readonly images: ImageRepository;
  readonly blobs: BlobStore;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly imageService: Pick<ImageService, 'findVisible' | 'watchTransfer'>;
  readonly imageSizeCap: number;
  /** Glance's multi-store mode: locations record their store id (`metadata.store`). */
  readonly multiStore: boolean;
  /** Keystone limits and the byte quota (user_storage_quota); absent = none. */
  readonly quotas?: Pick<QuotaService, 'enforceLimits' | 'holdStorage'>;
  /** The store an upload without X-Image-Meta-Store goes to (image.prepare names it in multi-store mode). */
  readonly defaultStore?: string;
  readonly hashingAlgorithm: string;
  /** How uploaded data is checked against its declared format ([image_format] options). */
  readonly formatChecks: FormatCheckOptions;
  /** The node's image cache (image_cache_dir); absent = every download reads the store. */
  readonly cache?: DownloadCache;
  /** Failures that must not replace the error being answered (an orphan blob left behind). */
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
  /** Leases on uploads in progress (several nodes); absent: one process, nothing to hold. */
  readonly transferLeases?: TransferLeaseHolder;
}

export type DownloadResult =
  | { readonly kind: 'no-data' }
  | {
      readonly kind: 'data';
      readonly image: Image;
      readonly stream: Readable;
      readonly size: number;
      readonly range: ByteRange | null;
    };

export type ImageDataService = ReturnType<typeof createImageDataService>;

export function createImageDataService(deps: ImageDataDeps) {
  const { images, blobs, policy, clock } = deps;

  /** Puts an image back to queued after a failed upload, unless something else moved or deleted it. */
  async function backToQueued(ctx: RequestContext, image: Image): Promise<void> {
    const queued = transition(image, 'queued', { updated_at: clock.now() });
    try {
      await images.save(queued, { fromStatus: 'saving' });
    } catch (e) {
      if (!(e instanceof Conflict) && !(e instanceof NotFound)) throw e;
      return;
    }
    deps.notifier.emit('image.update', imagePayload(queued), { context: ctx });
  }

  /** Glance's image.upload error notification (its text names the image and the reason), before the image is restored. */
  function notifyUploadFailed(ctx: RequestContext, id: string, error: unknown): void {
    deps.notifier.emit('image.upload', uploadFailureText(id, error), { priority: 'ERROR', context: ctx });
  }

  /** Deletes the blob of an upload that failed after it was stored; a failure only leaves an orphan. */
  async function dropBlob(id: string, blob: StoredBlob): Promise<void> {
    await blobs.delete(blob.location, blob.store).catch((e: unknown) => {
      deps.onError('could not delete the data of a failed upload; orphan left', e, { image: id, location: blob.location });
    });
  }

  /** Glance's 410 for an image deleted while its data was coming in. */
  const gone = (id: string): Gone =>
    new Gone(
      `Image ${id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.`,
    );

  /**
   * Opens the image's data: as Glance, each active location in turn (any store type), the next
   * one tried on any failure to open, the last failure answered when none opens.
   */
  async function readStores(image: Image, range: ByteRange | null, signal?: AbortSignal): Promise<{ stream: Readable; size: number }> {
    const active = image.locations.filter((l) => l.status === 'active');
    let failure: unknown = new NotFound(`Image ${image.id} has no data`);
    for (const [i, location] of active.entries()) {
      try {
        return await blobs.get(location.url, { ...(range ? { range } : {}), ...(signal ? { signal } : {}), store: storeOf(location), image: image.id });
      } catch (err) {
        failure = err;
        if (i + 1 < active.length) {
          deps.onError('image data could not be read from a location; trying the next one', err, { image: image.id, store: storeOf(location) });
        }
      }
    }
    throw failure;
  }

  /**
   * Streams the data of an image already in `saving` into the store and commits it
   * (saving → active). Any failure leaves no data behind and the image back in `queued`.
   */
  async function receive(
    ctx: RequestContext,
    saving: Image,
    source: Readable,
    opts: { contentLength?: number; signal?: AbortSignal; store?: string },
    cap: number,
    hold: StorageHold | null,
  ): Promise<Image> {
    const id = saving.id;
    // Format inspection rides along in the store's single pass; the verdict is taken when the
    // data ends, before the store commits, so refused data (Invalid, 400) is never stored.
    const formatCheck = createUploadCheck(
      { diskFormat: saving.disk_format, containerFormat: saving.container_format },
      deps.formatChecks,
    );
    let blob: StoredBlob;
    let virtualSize: number | null;
    try {
      blob = await blobs.put(id, source, {
        expectedSize: opts.contentLength,
        sizeCap: cap,
        hashAlgo: deps.hashingAlgorithm,
        signal: opts.signal,
        observer: formatCheck.observer,
        store: opts.store,
      });
    } catch (e) {
      await hold?.release();
      notifyUploadFailed(ctx, id, e);
      await backToQueued(ctx, saving);
      throw e;
    }
    try {
      virtualSize = formatCheck.virtualSize();
    } catch (e) {
      // A store that skipped the observer: the data was never checked and must not be served.
      await dropBlob(id, blob);
      await hold?.release();
      notifyUploadFailed(ctx, id, e);
      await backToQueued(ctx, saving);
      throw e;
    }

    const active = transition(saving, 'active', {
      size: blob.size,
      checksum: blob.checksum,
      os_hash_algo: blob.os_hash_algo,
      os_hash_value: blob.os_hash_value,
      // From the inspector for every format it recognises (src/format/declared-format.ts).
      virtual_size: virtualSize ?? saving.virtual_size,
      locations: [locationOf(blob, deps.multiStore)],
      updated_at: clock.now(),
    });
    try {
      await images.save(active, { fromStatus: 'saving' });
    } catch (e) {
      // Deleted (or reset) while we were receiving: the data must not outlive it.
      await dropBlob(id, blob);
      if (e instanceof Conflict || e instanceof NotFound) throw gone(id);
      throw e;
    }
    // Glance sends these three around its final save; here all follow the commit, in its order.
    deps.notifier.emit('image.upload', { ...imagePayload(active), ...importProgressPayload(active) }, { context: ctx });
    deps.notifier.emit('image.activate', imagePayload(active), { context: ctx });
    deps.notifier.emit('image.update', imagePayload(active), { context: ctx });
    return active;
  }

  /**
   * Glance's image.send once the last byte went out. The stream ends only after all `expected`
   * bytes (stores fail a short read rather than end early), so that is the count; a download
   * the client abandons sends nothing, as in Glance. No transform in the data path: the
   * filesystem store's stream writes straight to the socket.
   */
  function notifyWhenSent(stream: Readable, ctx: RequestContext, image: Image, expected: number): Readable {
    stream.once('end', () => {
      deps.notifier.emit('image.send', imageSendPayload(image, expected, { projectId: ctx.projectId, userId: ctx.userId }), { context: ctx });
    });
    return stream;
  }

  return {
    async upload(
      ctx: RequestContext,
      id: string,
      source: Readable,
      opts: { contentLength?: number; signal?: AbortSignal; store?: string },
    ): Promise<Image> {
      // Glance enforces image_size_total (Keystone limits, delta 0) first of all, then checks
      // the store (X-Image-Meta-Store), before even looking for the image.
      await deps.quotas?.enforceLimits(ctx.projectId, { image_size_total: 0 });
      if (opts.store !== undefined && !blobs.has(opts.store)) {
        throw new Invalid(`Store for identifier ${opts.store} not found`);
      }
      const image = await deps.imageService.findVisible(ctx, id);
      policy.enforce(ctx, 'upload_image', image);
      // Only a queued image takes data; another upload in progress (saving) is a conflict too.
      if (image.status !== 'queued') {
        throw new Conflict(`Image status transition from ${image.status} to saving is not allowed`);
      }
      assertReadyForData(image);

      const cap = deps.imageSizeCap;
      // Refuse before reading a byte when the declared length already says too much.
      if (opts.contentLength !== undefined && opts.contentLength > cap) {
        throw new TooLarge(`Image exceeds the storage quota or the image size cap of ${cap} bytes.`);
      }
      // user_storage_quota, charged to the caller's project as Glance does: the bytes are
      // reserved (race-free, see services/quotas.ts) before the image changes status.
      const hold: StorageHold | null = (await deps.quotas?.holdStorage(ctx.projectId, id, opts.contentLength)) ?? null;

      const saving = transition(image, 'saving', { updated_at: clock.now() });
      // Watched from before the status change, so no delete can slip in unnoticed.
      const watch = deps.imageService.watchTransfer(id, () => gone(id));
      try {
        const startLease = deps.transferLeases?.lease();
        await images.save(saving, { fromStatus: image.status, ...(startLease ? { lease: startLease } : {}) });
        try {
          // Glance counts the image in its uploading total once it is saving (delta 0).
          await deps.quotas?.enforceLimits(ctx.projectId, { image_count_uploading: 0 });
        } catch (e) {
          await backToQueued(ctx, saving);
          throw e;
        }
        deps.notifier.emit('image.update', imagePayload(saving), { context: ctx });
        const backend = deps.multiStore ? { backend: opts.store ?? deps.defaultStore } : {};
        deps.notifier.emit('image.prepare', { ...imagePayload(saving), ...importProgressPayload(saving), ...backend }, { context: ctx });
        // Other nodes leave an upload alone while this process renews its lease.
        const lease = deps.transferLeases?.hold(id, 'saving');
        try {
          const signals = [watch.signal, ...(opts.signal ? [opts.signal] : []), ...(lease ? [lease.signal] : [])];
          const metered = hold === null ? source : hold.meter(source);
          // The hold ends before a failed upload returns its image to queued, and after a
          // successful one made the image active (its size counted by then).
          return await receive(ctx, saving, metered, { ...opts, signal: AbortSignal.any(signals) }, cap, hold);
        } finally {
          lease?.release();
        }
      } finally {
        watch.release();
        await hold?.release();
      }
    },

    async download(
      ctx: RequestContext,
      id: string,
      /** The range asked for (Range, else Content-Range), resolved once the image is known. */
      requested?: RangeRequest,
    ): Promise<DownloadResult> {
      const image = await deps.imageService.findVisible(ctx, id);
      policy.enforce(ctx, 'download_image', image);
      if (image.status === 'deactivated' && !ctx.isAdmin) {
        throw new Forbidden('The requested image has been deactivated. Image data download is forbidden.');
      }
      const active = image.locations.filter((l) => l.status === 'active');
      if (active.length === 0 || image.size === null) {
        // Glance answers 204 for an image without data, and 500 when a Range is asked of it;
        // a range of nothing is simply unsatisfiable.
        if (requested?.header === 'Range') throw new RangeNotSatisfiable('The image has no data.', 0);
        return { kind: 'no-data' };
      }
      const range = requested === undefined ? null : resolveRange(requested, image.size);
      const cached = await deps.cache?.open(image, range);
      const sent = (stream: Readable, size: number): Readable => {
        const expected = range ? range.end - range.start + 1 : (image.size ?? size);
        return deps.notifier.enabled?.('image.send') === false ? stream : notifyWhenSent(stream, ctx, image, expected);
      };
      if (cached) return { kind: 'data', image, stream: sent(cached.stream, cached.size), size: cached.size, range };
      const opened = await readStores(image, range);
      // Only whole reads fill the cache (Glance never caches a partial download either).
      const stream = deps.cache !== undefined && range === null ? deps.cache.fill(image, opened.stream).stream : opened.stream;
      return { kind: 'data', image, stream: sent(stream, opened.size), size: opened.size, range };
    },

    /** The whole data of an image from its stores, for the cache prefetcher (no policy: a node job). */
    async readStored(image: Image, signal?: AbortSignal): Promise<Readable> {
      return (await readStores(image, null, signal)).stream;
    },
  };
}
