/**
 * Shared set-up for the scrubber tests: two filesystem stores behind one blob store
 * (multi-store, as enabled_backends = a:file,b:file), images with real data in one or both,
 * a settable clock, and a blob store that counts the deletes reaching it.
 */
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createBlobStore } from '../../src/blob/blob-store.js';
import { createFilesystemDriver } from '../../src/blob/drivers/filesystem-driver.js';
import { locationOf, scheduleDelete, transition, type Image } from '../../src/domain/image.js';
import type { BlobStore, Clock, ImageRepository } from '../../src/domain/ports.js';
import { makeImage } from '../persistence/sqlite-fixture.js';

export const STORE_IDS = ['a', 'b'] as const;

/** Two file stores `a` and `b` under `root`. */
export function twoFileStores(root: string): BlobStore {
  return createBlobStore({
    backends: STORE_IDS.map((id) => ({ id, driver: createFilesystemDriver({ dir: `${root}/${id}` }) })),
    defaultBackend: 'a',
  });
}

/** A clock the test moves. */
export function settableClock(start: Date): Clock & { set(d: Date): void; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    set: (d) => {
      now = d;
    },
    advance: (ms) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

/** The blob store with every delete counted per location (before it reaches the store). */
export function countingDeletes(blobs: BlobStore): { blobs: BlobStore; deletes: Map<string, number> } {
  const deletes = new Map<string, number>();
  const counted: BlobStore = Object.assign(Object.create(blobs) as BlobStore, {
    async delete(location: string, store?: string | null) {
      deletes.set(location, (deletes.get(location) ?? 0) + 1);
      return blobs.delete(location, store);
    },
  });
  return { blobs: counted, deletes };
}

/** An active image whose data (`bytes`) is in each of `stores`. */
export async function imageWithData(
  images: ImageRepository,
  blobs: BlobStore,
  stores: readonly string[],
  at: Date,
  overrides: Partial<Image> = {},
): Promise<Image> {
  const queued = makeImage({ disk_format: 'raw', container_format: 'bare', created_at: at, updated_at: at, ...overrides });
  await images.add(queued);
  const locations = [];
  let first;
  for (const store of stores) {
    const blob = await blobs.put(queued.id, Readable.from([Buffer.from(`data of ${queued.id}`)]), { sizeCap: 1 << 20, hashAlgo: 'sha512', store });
    first ??= blob;
    locations.push(locationOf(blob, true));
  }
  const active = transition(queued, 'active', {
    size: first!.size,
    checksum: first!.checksum,
    os_hash_algo: first!.os_hash_algo,
    os_hash_value: first!.os_hash_value,
    locations,
  });
  await images.save(active, { fromStatus: 'queued' });
  return active;
}

/** DELETE with delayed_delete on, as the image service does it, at `at`. */
export async function deleteLater(images: ImageRepository, image: Image, at: Date): Promise<void> {
  await images.markPendingDelete(scheduleDelete(image, { updated_at: at }), { fromStatus: image.status });
}

/** Whether the data behind a file:// location is still there. */
export function dataExists(url: string): boolean {
  // The filesystem store's locations are 'file://' + the absolute path, not percent-encoded (as Glance's).
  return existsSync(url.slice('file://'.length));
}
