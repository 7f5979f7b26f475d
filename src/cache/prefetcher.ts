/**
 * The node's cache prefetcher: every cache_prefetcher_interval it caches the images queued for
 * this node (oldest first, one at a time so a burst of queued images never saturates the
 * store), then cleans stalled and invalid entries and prunes to the size limit. Glance 25.1.0
 * fetches a queued image at once from a worker thread; the interval is the option later Glance
 * releases run their prefetcher with, and queued images stay visible until fetched.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Image } from '../domain/image.js';
import type { ImageCache } from './image-cache.js';

/** Timers the prefetcher runs on (node:test's mock timers replace the default). */
export interface PrefetchSchedule {
  every(ms: number, run: () => void): () => void;
}

export interface PrefetcherOptions {
  readonly cache: Pick<ImageCache, 'listQueued' | 'dequeue' | 'fill' | 'isCached' | 'clean' | 'prune'>;
  /** The image with this id, deleted ones excluded (null when none). */
  readonly getImage: (id: string) => Promise<Image | null>;
  /** The image's full data from its stores (first active location that opens). */
  readonly readImage: (image: Image, signal: AbortSignal) => Promise<Readable>;
  /** cache_prefetcher_interval, milliseconds. */
  readonly intervalMs: number;
  readonly onError: (message: string, err: unknown, extra: Record<string, unknown>) => void;
  readonly onEvent?: (message: string, extra: Record<string, unknown>) => void;
  readonly schedule?: PrefetchSchedule;
}

const realSchedule: PrefetchSchedule = {
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export type Prefetcher = ReturnType<typeof createPrefetcher>;

/**
 * @example
 *   const prefetcher = createPrefetcher({ cache, getImage: (id) => images.get(id), readImage, intervalMs: 300_000, onError });
 *   const stop = prefetcher.start();
 */
export function createPrefetcher(opts: PrefetcherOptions) {
  const abort = new AbortController();
  let running: Promise<number> | undefined;

  async function fetchOne(id: string): Promise<boolean> {
    const image = await opts.getImage(id);
    if (image === null) {
      // Never going to succeed: Glance leaves it queued forever, Iris drops it.
      await opts.cache.dequeue(id);
      opts.onEvent?.('queued image no longer exists; dropped from the cache queue', { image: id });
      return false;
    }
    if (await opts.cache.isCached(id)) {
      await opts.cache.dequeue(id);
      return true;
    }
    if (image.status !== 'active') {
      opts.onEvent?.('queued image is not active; left queued', { image: id, status: image.status });
      return false;
    }
    const source = await opts.readImage(image, abort.signal);
    const { stream, done } = opts.cache.fill(image, source);
    await pipeline(stream, new Writable({ write: (_chunk, _enc, cb) => cb() }), { signal: abort.signal });
    return done;
  }

  async function runOnce(): Promise<number> {
    let cached = 0;
    for (const id of await opts.cache.listQueued()) {
      if (abort.signal.aborted) break;
      try {
        if (await fetchOne(id)) cached += 1;
      } catch (e) {
        // Left queued: the next run tries again, as Glance's prefetcher does.
        opts.onError('prefetching an image into the cache failed; left queued', e, { image: id });
      }
    }
    await opts.cache.clean();
    await opts.cache.prune();
    return cached;
  }

  /** One pass now (a pass already running is joined, never doubled); resolves with how many images were cached. */
  function run(): Promise<number> {
    running ??= runOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    run,
    /** Starts the periodic runs; returns the stop function (which also aborts a running fetch). */
    start(): () => void {
      const stop = (opts.schedule ?? realSchedule).every(opts.intervalMs, () => {
        void run().catch((e: unknown) => opts.onError('image cache prefetcher run failed', e, {}));
      });
      return () => {
        stop();
        abort.abort();
      };
    },
    /** The running pass, if any (tests wait for it). */
    get current(): Promise<number> | undefined {
      return running;
    },
  };
}
