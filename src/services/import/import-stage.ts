/**
 * Staging for glance-direct (Glance's `PUT /v2/images/{id}/stage`): the image goes queued →
 * uploading and its data into the staging store, keyed by image id; any failure returns it to
 * queued. Deleting the image meanwhile stops the stage and drops the staged data.
 */
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../domain/context.js';
import { Conflict, Gone, NotFound, TooLarge } from '../../domain/errors.js';
import { transition, type Image } from '../../domain/image.js';
import type { Policy } from '../../domain/policy.js';
import type { BlobStore, Clock, ImageRepository, Notifier, StoredBlob, TransferLeaseHolder } from '../../domain/ports.js';
import { imagePayload } from '../../notify/event-payloads.js';
import type { ImageService } from '../images.js';
import { STAGE_HOST } from './import-image-properties.js';
import type { QuotaService } from '../quotas.js';

export interface ImportStageDeps {
  readonly images: ImageRepository;
  readonly staging: BlobStore;
  readonly policy: Policy;
  readonly clock: Clock;
  /** image.update after each save, as Glance's stage. */
  readonly notifier: Notifier;
  readonly imageService: Pick<ImageService, 'findVisible' | 'watchTransfer'>;
  readonly imageSizeCap: number;
  readonly dropStaging: (imageId: string) => Promise<void>;
  /** This node's URL for the others, recorded as the stage host (Glance's os_glance_stage_host); null: none. */
  readonly selfUrl?: string | null;
  /** Leases on stages in progress (several nodes); absent: one process, nothing to hold. */
  readonly transferLeases?: TransferLeaseHolder;
  /** Keystone limits; absent = none. (Glance's stage never charges user_storage_quota.) */
  readonly quotas?: Pick<QuotaService, 'enforceLimits'>;
}

export function createImportStage(deps: ImportStageDeps) {
  const { images, staging, policy, clock } = deps;

  async function backTo(ctx: RequestContext, image: Image, from: Image['status']): Promise<void> {
    const queued = transition(image, 'queued', { updated_at: clock.now() });
    try {
      await images.save(queued, { fromStatus: from });
    } catch (e) {
      if (!(e instanceof Conflict) && !(e instanceof NotFound)) throw e;
      return;
    }
    deps.notifier.emit('image.update', imagePayload(queued), { context: ctx });
  }

  return {
    async stage(ctx: RequestContext, id: string, source: Readable, opts: { contentLength?: number; signal?: AbortSignal }): Promise<void> {
      // Glance: image_stage_total (delta 0) before even looking for the image.
      await deps.quotas?.enforceLimits(ctx.projectId, { image_stage_total: 0 });
      const image = await deps.imageService.findVisible(ctx, id);
      policy.enforce(ctx, 'modify_image', image);
      if (image.status !== 'queued') {
        throw new Conflict(`Image status transition from ${image.status} to uploading is not allowed`);
      }
      if (opts.contentLength !== undefined && opts.contentLength > deps.imageSizeCap) {
        throw new TooLarge(`Image exceeds the storage quota or the image size cap of ${deps.imageSizeCap} bytes.`);
      }
      const uploading = transition(image, 'uploading', { updated_at: clock.now() });
      // Glance answers 500 here; Iris says what happened, as Glance's upload does (410).
      const gone = (): Gone =>
        new Gone(`Image ${id} could not be found after staging. The image may have been deleted during the stage, cleaning up the staged data.`);
      // Deleting the image stops the stage while bytes are still coming in.
      const watch = deps.imageService.watchTransfer(id, gone);
      try {
        const startLease = deps.transferLeases?.lease();
        await images.save(uploading, { fromStatus: 'queued', ...(startLease ? { lease: startLease } : {}) });
        try {
          // Counted in image_count_uploading once uploading (delta 0), as Glance.
          await deps.quotas?.enforceLimits(ctx.projectId, { image_count_uploading: 0 });
        } catch (e) {
          await backTo(ctx, uploading, 'uploading');
          throw e;
        }
        deps.notifier.emit('image.update', imagePayload(uploading), { context: ctx });
        // Other nodes leave a stage alone while this process renews its lease.
        const lease = deps.transferLeases?.hold(id, 'uploading');
        const signal = AbortSignal.any([watch.signal, ...(opts.signal ? [opts.signal] : []), ...(lease ? [lease.signal] : [])]);
        let blob: StoredBlob;
        try {
          // No digests: the stage records only the size (as Glance's, which computes and drops
          // them); the import hashes the bytes it copies from the staged file into the store.
          blob = await staging.put(id, source, {
            expectedSize: opts.contentLength,
            sizeCap: deps.imageSizeCap,
            hashAlgo: null,
            signal,
          });
        } catch (e) {
          await backTo(ctx, uploading, 'uploading');
          throw e;
        } finally {
          // The data is in place (or not): the lease lapses; recovery judges a complete stage by its size.
          lease?.release();
        }
        try {
          // Record which node holds the staged data, so an import landing elsewhere is proxied here.
          const properties = deps.selfUrl ? { ...uploading.properties, [STAGE_HOST]: deps.selfUrl } : uploading.properties;
          const staged: Image = { ...uploading, size: blob.size, properties, updated_at: clock.now() };
          await images.save(staged, { fromStatus: 'uploading', previous: uploading });
          deps.notifier.emit('image.update', imagePayload(staged), { context: ctx });
        } catch (e) {
          // Deleted meanwhile: the staged data must not outlive it.
          await deps.dropStaging(id);
          if (e instanceof Conflict || e instanceof NotFound) throw gone();
          throw e;
        }
      } finally {
        watch.release();
      }
    },
  };
}
