/**
 * Start recovery for imports and stages a crash or restart interrupted: images are put back
 * in a consistent state (no half-imported image stays importing, no lock outlives its task).
 */
import { NotFound } from '../../domain/errors.js';
import { storeOf, transition, type AbandonedTransfers, type Image } from '../../domain/image.js';
import type { BlobStore, Clock, ImageRepository } from '../../domain/ports.js';
import type { Task } from '../../domain/task.js';
import { addTo, FAILED, IMPORTING, listProp, LOCK, removeFrom, STAGE_HOST } from './import-image-properties.js';

export interface ImportRecoveryDeps {
  readonly images: ImageRepository;
  /** The image stores. */
  readonly blobs: BlobStore;
  /** The staging area (os_glance_staging_store). */
  readonly staging: BlobStore;
  /** The staging location of an image's data. */
  readonly stagingLocation: (imageId: string) => string;
  readonly clock: Clock;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

/**
 * Start recovery for tasks a crash or restart interrupted (already failed by the task
 * repository): the image leaves importing/uploading for queued with its stores marked failed,
 * loses partial copies of a non-copy import, its staged data is deleted and its lock dropped.
 */
export async function recoverInterruptedImports(
  deps: Pick<ImportRecoveryDeps, 'images' | 'blobs' | 'clock' | 'onError'> & {
    readonly dropStaging: (imageId: string) => Promise<void>;
  },
  failed: readonly Task[],
): Promise<string[]> {
  const { images, blobs, clock, dropStaging } = deps;
  const recovered: string[] = [];
  for (const task of failed) {
    const id = task.image_id;
    if (!id) continue;
    const image = await images.get(id);
    if (!image || image.properties[LOCK] !== task.id) continue;
    const backend = ((task.input?.backend as (string | null)[] | undefined) ?? []).filter((s): s is string => s !== null);
    const method = ((task.input?.import_req as { method?: { name?: string } } | undefined)?.method?.name ?? '') as string;
    const pending = listProp(image, IMPORTING);
    let next: Image = removeFrom(image, IMPORTING, backend);
    next = addTo(next, FAILED, pending.length > 0 ? pending : backend);
    if (method !== 'copy-image' && image.status !== 'active') {
      for (const loc of image.locations) {
        await blobs.delete(loc.url, storeOf(loc)).catch((e: unknown) => {
          deps.onError('could not delete a copy of an interrupted import; orphan left', e, { image: id, task: task.id, location: loc.url });
        });
      }
      next = transition(next, 'queued', { locations: [], size: null, checksum: null, os_hash_algo: null, os_hash_value: null });
    }
    const { [LOCK]: _lock, ...properties } = next.properties;
    next = { ...next, properties, updated_at: clock.now() };
    try {
      await images.save(next, { fromStatus: image.status, previous: image });
      await dropStaging(id);
      recovered.push(id);
    } catch (e) {
      deps.onError('could not recover image of an interrupted import', e, { task: task.id, image: id });
    }
  }
  return recovered;
}


/**
 * Start recovery for stages a crash interrupted. `PUT /stage` takes the image to `uploading`
 * and records the staged size once the data is in place, so an `uploading` image whose staged
 * object is missing or not of the recorded size was cut off mid-stage: it returns to `queued`
 * (staged leftovers dropped) so it can be staged again. One whose data is complete stays
 * `uploading`, as in Glance, waiting for its import call. Images held by an import lock are
 * left to `recoverInterruptedImports`, images staged on another node (os_glance_stage_host)
 * to that node.
 *
 * @returns the ids of the images returned to `queued`.
 */
export async function recoverInterruptedStages(
  deps: Pick<ImportRecoveryDeps, 'images' | 'staging' | 'stagingLocation' | 'clock' | 'onError'> & {
    /** This node's URL (worker_self_reference_url): data another node staged is not in our staging. */
    readonly selfUrl?: string | null;
    /** Which transfers are abandoned (transfer-leases.ts): a stage another live node runs is not. */
    readonly abandoned: AbandonedTransfers;
  },
): Promise<string[]> {
  const { images, staging, clock } = deps;
  const recovered: string[] = [];
  const abandoned = new Set(await images.abandonedTransfers('uploading', deps.abandoned));
  for (const image of await images.withStatus('uploading')) {
    if (!abandoned.has(image.id)) continue;
    if (image.properties[LOCK] !== undefined) continue;
    const stageHost = image.properties[STAGE_HOST];
    if (stageHost !== undefined && stageHost !== (deps.selfUrl ?? null)) continue;
    const location = deps.stagingLocation(image.id);
    let staged: number | null = null;
    try {
      const { stream, size } = await staging.get(location, { store: staging.defaultStore });
      stream.destroy();
      staged = size;
    } catch (e) {
      if (!(e instanceof NotFound)) {
        deps.onError('could not check the staged data of an uploading image; left as it is', e, { image: image.id });
        continue;
      }
    }
    if (image.size !== null && staged === image.size) continue;
    try {
      await images.save(transition(image, 'queued', { size: null, updated_at: clock.now() }), { fromStatus: 'uploading' });
      recovered.push(image.id);
    } catch (e) {
      deps.onError('could not return an interrupted stage to queued', e, { image: image.id });
      continue;
    }
    if (staged !== null) {
      await staging.delete(location, staging.defaultStore).catch((e: unknown) => {
        deps.onError('could not drop the partial staged data of an interrupted stage', e, { image: image.id });
      });
    }
  }
  return recovered;
}
