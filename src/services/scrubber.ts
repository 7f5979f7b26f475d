/**
 * The scrubber (Glance's glance/scrubber.py Scrubber): deletes, in whichever store holds it,
 * the data of images left in pending_delete by a delayed delete once `scrub_time` has passed,
 * then marks those images deleted. It also sweeps orphans: data of images deleted at once
 * whose delete never happened (a crash between the row and the data, a store that failed).
 *
 * Each location is claimed in the database before its data is deleted (ScrubQueue), so several
 * scrubbers on one database share the work and never delete the same data twice, and a
 * scrubber killed mid-run leaves claims the next run takes over: at once when the dead process
 * was on this node, once the claim runs out otherwise. Deleting data already gone is not an
 * error, so a delete cut off by the kill is simply done again.
 */
import { InUseByStore } from '../domain/errors.js';
import type { BlobStore, Clock, ScrubClaimer, ScrubJob, ScrubQueue } from '../domain/ports.js';

/** Where the scrubber reports (pino's signature, so a pino logger fits). */
export interface ScrubLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ScrubberDeps {
  readonly queue: ScrubQueue;
  /** Every configured store, through the blob store facade (the location's store id picks the driver). */
  readonly blobs: Pick<BlobStore, 'delete'>;
  readonly clock: Clock;
  /** This process as the owner of its claims (`<node>-<pid>`). */
  readonly owner: string;
  /** Which claim owners are processes known to be gone (this node's dead processes). */
  readonly isDeadOwner: (owner: string) => boolean;
  /** [DEFAULT] scrub_time, seconds. */
  readonly scrubTimeSeconds: number;
  /** [DEFAULT] scrub_pool_size: images scrubbed in parallel. */
  readonly poolSize: number;
  /** [iris] scrub_claim_seconds, in ms. */
  readonly claimMs: number;
  /** Sweep orphaned data too (default true). */
  readonly orphans?: boolean;
  readonly log: ScrubLog;
}

/** What one run did. */
export interface ScrubReport {
  /** Images whose data is gone everywhere and that are now deleted. */
  readonly imagesDeleted: readonly string[];
  /** Locations of pending_delete images whose data this run deleted. */
  readonly locationsScrubbed: number;
  /** Orphaned locations whose data this run deleted (or found already gone). */
  readonly orphansSwept: number;
  /** Deletes that failed (their images stay pending_delete; the next run retries). */
  readonly failures: number;
}

/** Jobs read per query: Glance pages its queue by 1000 images. */
const PAGE = 1000;

export type Scrubber = ReturnType<typeof createScrubber>;

export function createScrubber(deps: ScrubberDeps) {
  const { queue, log } = deps;

  /** Deletes one location's data if this scrubber wins its claim; 'skipped' when another has it. */
  async function scrubOne(job: ScrubJob, claimer: ScrubClaimer): Promise<'done' | 'skipped' | 'failed'> {
    const until = new Date(claimer.now.getTime() + deps.claimMs);
    if (!(await queue.claim(job, until, claimer))) return 'skipped';
    try {
      // Missing data is not an error (BlobStore.delete is idempotent), as Glance's scrubber
      // treats the store's NotFound: the location is marked deleted all the same.
      await deps.blobs.delete(job.url, job.store);
    } catch (err) {
      if (err instanceof InUseByStore) {
        log.warn({ image: job.imageId, store: job.store, err }, 'image data in use by the store (clones depend on it); left for a later run');
      } else {
        log.error({ image: job.imageId, store: job.store, err }, 'Unable to scrub image from a location');
      }
      await queue.release(job, claimer).catch((e: unknown) => log.error({ image: job.imageId, err: e }, 'could not release a scrub claim; it runs out by itself'));
      return 'failed';
    }
    if (!(await queue.finish(job, claimer))) {
      log.warn({ image: job.imageId, store: job.store }, 'scrub claim ran out while deleting; another scrubber took the location over');
    }
    log.info({ image: job.imageId, store: job.store, kind: job.kind }, job.kind === 'orphan' ? 'orphaned image data deleted' : 'Image is scrubbed from a location');
    return 'done';
  }

  return {
    /**
     * One pass over the queue: every due location claimed and deleted, `scrub_pool_size`
     * images at a time (an image's locations one after another), then the images left
     * without data marked deleted. `signal` stops it between deletes.
     */
    async runOnce(signal?: AbortSignal): Promise<ScrubReport> {
      const now = deps.clock.now();
      const deadOwners = (await queue.claimOwners()).filter((o) => o !== deps.owner && deps.isDeadOwner(o));
      const claimer: ScrubClaimer = { owner: deps.owner, now, deadOwners };
      const scrubBefore = new Date(now.getTime() - deps.scrubTimeSeconds * 1000);
      let locationsScrubbed = 0;
      let orphansSwept = 0;
      let failures = 0;
      let after: number | undefined;
      for (;;) {
        if (signal?.aborted) break;
        const jobs = await queue.due({ scrubBefore, orphans: deps.orphans ?? true, limit: PAGE, afterLocationId: after }, claimer);
        if (jobs.length === 0) break;
        after = jobs[jobs.length - 1]!.locationId;
        const byImage = new Map<string, ScrubJob[]>();
        for (const job of jobs) byImage.set(job.imageId, [...(byImage.get(job.imageId) ?? []), job]);
        const groups = [...byImage.values()];
        const worker = async () => {
          for (let group = groups.shift(); group !== undefined; group = groups.shift()) {
            for (const job of group) {
              if (signal?.aborted) return;
              const outcome = await scrubOne(job, claimer);
              if (outcome === 'failed') failures += 1;
              if (outcome === 'done' && job.kind === 'orphan') orphansSwept += 1;
              if (outcome === 'done' && job.kind === 'pending_delete') locationsScrubbed += 1;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, deps.poolSize) }, worker));
        if (jobs.length < PAGE) break;
      }
      const imagesDeleted = await queue.completeScrubbed(deps.clock.now());
      for (const id of imagesDeleted) log.info({ image: id }, 'Image has been scrubbed successfully');
      return { imagesDeleted, locationsScrubbed, orphansSwept, failures };
    },

    /** glance-scrubber --restore: the pending_delete image back to active (errors: see ScrubQueue.restore). */
    async restore(imageId: string): Promise<void> {
      await queue.restore(imageId, deps.clock.now());
    },
  };
}
