/**
 * Quota use cases: the legacy per-image counts, the per-project byte quota held race-free by
 * reservations, Keystone unified limits, and the usage report of GET /v2/info/usage.
 *
 * Byte quota (user_storage_quota, when Keystone limits are off): Glance checks an upload before
 * it starts and again after, so two concurrent uploads can both pass. Iris reserves the bytes in
 * the database instead (QuotaRepository.reserve: usage + live reservations + bytes <= quota,
 * atomically per project): the declared length up front, or for a body of unknown length the
 * bytes as they arrive, in steps. The reservation is dropped when the upload ends, after the
 * image row carries its size, so the bytes are counted at least once at every moment and never
 * twice for long. A running upload renews its reservation; a dead node's stops counting when it
 * expires, and a restarted node drops its dead processes' ones at once.
 */
import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  checkLocationQuota,
  checkPropertyQuota,
  checkTagQuota,
  enforceLimits,
  LIMIT_RESOURCES,
  StorageQuotaFull,
  storageQuotaFullMessage,
  tagQuotaMessage,
  type LimitResource,
  type LimitSource,
  type OwnerUsage,
  type QuotaRepository,
} from '../domain/quota.js';
import type { Clock } from '../domain/ports.js';
import { TooLarge } from '../domain/errors.js';
import type { RequestContext } from '../domain/context.js';

const MIB = 1024 * 1024;
/** Growth step of the reservation of an upload of unknown length (fewer transactions than per chunk). */
const GROWTH_STEP = 8 * MIB;

export interface QuotaServiceDeps {
  readonly quotas: QuotaRepository;
  /** Keystone's limits; set exactly when use_keystone_limits is on. */
  readonly limits?: LimitSource;
  readonly clock: Clock;
  /** Bytes per project, 0 = none (ignored with Keystone limits, as in Glance). */
  readonly userStorageQuota: number;
  readonly imagePropertyQuota: number;
  readonly imageTagQuota: number;
  readonly imageLocationQuota: number;
  /** This process, as the holder of its reservations (`<node>-<pid>`). */
  readonly holder: string;
  /** How long a reservation lives without renewal. */
  readonly reservationMs: number;
  /** Failures that must not replace the error being answered (a reservation left to expire). */
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

/** Bytes an upload holds against its project's quota until it ends. */
export interface StorageHold {
  /**
   * `source` counted against the hold: bytes past what is reserved are reserved on the way.
   * When the quota cannot take them, the rest is counted but not passed on, and the stream
   * fails at its end with StorageQuotaFull naming the whole size, as Glance's check after the
   * upload does.
   */
  meter(source: Readable): Readable;
  /** Drops the reservation (idempotent); failures are logged, the reservation then expires. */
  release(): Promise<void>;
}

/** One line of GET /v2/info/usage. */
export interface UsageLine {
  readonly usage: number;
  readonly limit: number;
}

export type QuotaService = ReturnType<typeof createQuotaService>;

/** Glance's unified-limit usage of an owner: sizes in whole MiB, rounded down. */
function resourceUsage(u: OwnerUsage): Record<LimitResource, number> {
  return {
    image_size_total: Math.floor(u.storageBytes / MIB),
    image_stage_total: Math.floor(u.stagingBytes / MIB),
    image_count_total: u.images,
    image_count_uploading: u.uploading,
  };
}

export function createQuotaService(deps: QuotaServiceDeps) {
  const { quotas, clock } = deps;
  const expiry = (): Date => new Date(clock.now().getTime() + deps.reservationMs);
  const byteQuota = deps.limits === undefined ? deps.userStorageQuota : 0;

  async function hold(owner: string | null, imageId: string, expectedSize: number | undefined): Promise<StorageHold | null> {
    if (byteQuota <= 0) return null;
    // Glance: a known size must fit what remains; an unknown one is refused only when nothing
    // remains (one byte reserved stands for "something remains").
    const first = expectedSize ?? 1;
    const reserved0 = await quotas.reserve({ owner, imageId, bytes: first, limit: byteQuota, holder: deps.holder, now: clock.now(), expiresAt: expiry() });
    if (!reserved0.ok) throw new StorageQuotaFull(expectedSize ?? null, reserved0.remaining);
    const id = reserved0.id;
    let reserved = first;
    let released = false;
    // A running upload keeps its reservation alive; a dead one's expires.
    const renewal = setInterval(() => {
      quotas.renew(id, expiry()).catch((e: unknown) => deps.onError('could not renew a quota reservation', e, { image: imageId }));
    }, Math.max(1000, Math.floor(deps.reservationMs / 3)));
    renewal.unref();

    return {
      meter(source: Readable): Readable {
        let received = 0;
        /** Set once the quota refused more bytes: what remained for this upload (Glance's remaining). */
        let refusedWith: number | undefined;
        const meter = new Transform({
          transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
            received += chunk.length;
            // Past the quota, the rest of the body is only counted, never stored: Glance stores
            // it all and refuses after, naming the whole size, and so must the answer here.
            if (refusedWith !== undefined) return done();
            if (received <= reserved) return done(null, chunk);
            // Reserve a step ahead (fewer transactions); near the quota, exactly what is missing.
            const need = received - reserved;
            const step = Math.max(need, GROWTH_STEP);
            const ask = (bytes: number) => quotas.grow(id, { owner, bytes, limit: byteQuota, now: clock.now(), expiresAt: expiry() });
            ask(step)
              .then(async (r) => {
                if (r.ok) return { r, granted: step };
                if (step === need) return { r, granted: 0 };
                return { r: await ask(need), granted: need };
              })
              .then(({ r, granted }) => {
                if (r.ok) {
                  reserved += granted;
                  return done(null, chunk);
                }
                // What remained for this upload: the quota less usage and the others' reservations.
                refusedWith = r.remaining + reserved;
                done();
              }, done);
          },
          flush(done: TransformCallback) {
            if (refusedWith === undefined) return done();
            done(new StorageQuotaFull(received, refusedWith));
          },
        });
        // The source (the request) is never destroyed from here: the HTTP layer still answers on
        // its connection. Its failure reaches the store through `meter`.
        finished(source, { writable: false }, (err) => {
          if (err) meter.destroy(err);
        });
        meter.once('error', () => source.unpipe(meter));
        source.pipe(meter);
        return meter;
      },
      async release() {
        if (released) return;
        released = true;
        clearInterval(renewal);
        await quotas.release(id).catch((e: unknown) => deps.onError('could not release a quota reservation; it expires', e, { image: imageId }));
      },
    };
  }

  return {
    /** Whether Keystone unified limits are on (use_keystone_limits). */
    keystoneLimits: deps.limits !== undefined,

    /** image_property_quota over the image's extra property names (os_glance_* not counted). */
    checkProperties(names: readonly string[]): void {
      checkPropertyQuota(names, deps.imagePropertyQuota);
    },
    /** image_tag_quota over a whole tag list (create, PATCH). */
    checkTags(tags: readonly string[]): void {
      checkTagQuota(tags, deps.imageTagQuota);
    },
    /** The image_tag_quota refusal of adding one tag (PUT /tags/{tag}), or null. */
    tagLimitMessage(count: number): string | null {
      return tagQuotaMessage(count, deps.imageTagQuota);
    },
    /** image_location_quota for an image about to have `count` locations. */
    checkLocations(count: number): void {
      checkLocationQuota(count, deps.imageLocationQuota);
    },

    /**
     * user_storage_quota on adding locations (Glance's QuotaImageLocationsProxy and
     * api/common.py check_quota): `bytes` more for `projectId` must fit what its images' live
     * locations leave; unknown (null) only when something remains. A check, not a reservation,
     * as Glance's. No-op with Keystone limits or no byte quota.
     * @throws TooLarge (413) with Glance's wording.
     */
    async checkLocationStorage(projectId: string | null, bytes: number | null): Promise<void> {
      if (byteQuota <= 0) return;
      const remaining = byteQuota - (await quotas.usage(projectId)).storageBytes;
      if (bytes === null ? remaining <= 0 : bytes > remaining) {
        throw new TooLarge(`Denying attempt to upload image because it exceeds the quota: ${storageQuotaFullMessage(bytes, remaining)}`);
      }
    },

    /**
     * Keystone unified limits for `projectId` (Glance's context.owner): no-op when
     * they are off. Usage is counted now; `deltas` is what the request adds.
     *
     * @throws KeystoneLimitExceeded (413) when over; Error when Keystone cannot be asked (500).
     */
    async enforceLimits(projectId: string | null, deltas: Partial<Record<LimitResource, number>>): Promise<void> {
      if (deps.limits === undefined) return;
      const resources = Object.keys(deltas) as LimitResource[];
      const limits = await deps.limits.limitsFor(projectId, resources);
      const usage = resourceUsage(await quotas.usage(projectId));
      enforceLimits(projectId, limits, usage, deltas);
    },

    /**
     * Reserves an upload's bytes against `projectId`'s user_storage_quota (Glance charges the
     * caller's project, context.owner), or null when no byte quota applies.
     *
     * @throws StorageQuotaFull with Glance's numbers when the declared size does not fit, or
     *   when nothing remains for a body of unknown length.
     */
    holdStorage(projectId: string | null, imageId: string, expectedSize: number | undefined): Promise<StorageHold | null> {
      return hold(projectId, imageId, expectedSize);
    },

    /**
     * GET /v2/info/usage: with Keystone limits, each resource's usage and limit for the caller's
     * project (limit 0 where Keystone has none); without, nothing, as Glance.
     */
    async usage(ctx: RequestContext): Promise<Record<string, UsageLine>> {
      if (deps.limits === undefined) return {};
      const limits = await deps.limits.limitsFor(ctx.projectId, LIMIT_RESOURCES);
      const usage = resourceUsage(await quotas.usage(ctx.projectId));
      const out: Record<string, UsageLine> = {};
      for (const resource of LIMIT_RESOURCES) out[resource] = { usage: usage[resource], limit: limits[resource] ?? 0 };
      return out;
    },

    /** Start recovery: drops the reservations of this host's processes that no longer run. */
    releaseDeadHolders(isDead: (holder: string) => boolean): Promise<number> {
      return quotas.releaseDeadHolders(isDead);
    },
  };
}
