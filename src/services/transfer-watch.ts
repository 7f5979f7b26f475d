/**
 * Data transfers (upload, stage) running in this process, by image id, so that deleting the
 * image stops them while bytes are still flowing instead of after the whole body was read.
 * Deletes made by another process are caught later, by the transfer's compare-and-swap commit.
 */
import type { IrisError } from '../domain/errors.js';

export interface TransferWatch {
  /** An abort signal for `imageId`'s transfer that fires with `reason()` once the image is deleted. */
  readonly signal: AbortSignal;
  /** Stops watching (always call it, in a `finally`). */
  release(): void;
}

export interface TransferWatches {
  /**
   * Watches one transfer.
   * @example const w = watches.watch(id, () => new Gone(`Image ${id} was deleted`)); try { … } finally { w.release(); }
   */
  watch(imageId: string, reason: () => IrisError): TransferWatch;
  /** Aborts every transfer of `imageId` (the image was just deleted). */
  deleted(imageId: string): void;
}

export function createTransferWatches(): TransferWatches {
  const byImage = new Map<string, Set<{ controller: AbortController; reason: () => IrisError }>>();
  return {
    watch(imageId, reason) {
      const entry = { controller: new AbortController(), reason };
      let set = byImage.get(imageId);
      if (set === undefined) byImage.set(imageId, (set = new Set()));
      set.add(entry);
      return {
        signal: entry.controller.signal,
        release() {
          set.delete(entry);
          if (set.size === 0 && byImage.get(imageId) === set) byImage.delete(imageId);
        },
      };
    },
    deleted(imageId) {
      const set = byImage.get(imageId);
      if (set === undefined) return;
      byImage.delete(imageId);
      for (const { controller, reason } of set) controller.abort(reason());
    },
  };
}
