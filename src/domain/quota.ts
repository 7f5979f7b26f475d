/**
 * Quotas as Glance 25.1.0 defines them: the legacy per-image counts (image_property_quota,
 * image_tag_quota, image_location_quota), the per-project byte quota (user_storage_quota) and
 * Keystone's unified limits (image_size_total, image_stage_total in MiB; image_count_total,
 * image_count_uploading). Pure: the refusals and their messages, and the ports the quota
 * service needs. Every refusal is a TooLarge (413), as Glance's LimitExceeded family.
 */
import { TooLarge } from './errors.js';

/** Glance's reserved property namespace: its properties never count against image_property_quota. */
const RESERVED_NAMESPACE = 'os_glance';

/** The four unified-limit resources, in Glance's names. */
export const LIMIT_RESOURCES = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const;
export type LimitResource = (typeof LIMIT_RESOURCES)[number];

/** What a project uses of each resource (sizes in MiB, rounded down, as Glance reports them). */
export type ResourceUsage = Readonly<Record<LimitResource, number>>;

/**
 * Refuses `attempted` additional properties over `maximum` (negative = unlimited); Glance's
 * ImagePropertyLimitExceeded. `names` are the image's extra property names after the change.
 */
export function checkPropertyQuota(names: readonly string[], maximum: number): void {
  if (maximum < 0) return;
  const attempted = names.filter((n) => !n.startsWith(RESERVED_NAMESPACE)).length;
  if (attempted > maximum) {
    throw new TooLarge(`The limit has been exceeded on the number of allowed image properties. Attempted: ${attempted}, Maximum: ${maximum}`);
  }
}

/** Glance's ImageTagLimitExceeded message for `count` tags over `maximum`, or null when within it. */
export function tagQuotaMessage(count: number, maximum: number): string | null {
  if (maximum < 0 || count <= maximum) return null;
  return `The limit has been exceeded on the number of allowed image tags. Attempted: ${count}, Maximum: ${maximum}`;
}

/** Refuses more than `maximum` tags (negative = unlimited), with Glance's create/PATCH message. */
export function checkTagQuota(tags: readonly string[], maximum: number): void {
  const message = tagQuotaMessage(new Set(tags).size, maximum);
  if (message !== null) throw new TooLarge(message);
}

/** Refuses an image with more than `maximum` locations (negative = unlimited); Glance's ImageLocationLimitExceeded. */
export function checkLocationQuota(attempted: number, maximum: number): void {
  if (maximum >= 0 && attempted > maximum) {
    throw new TooLarge(`The limit has been exceeded on the number of allowed image locations. Attempted: ${attempted}, Maximum: ${maximum}`);
  }
}

/**
 * Glance's StorageQuotaFull text. `size` null is an upload of unknown length refused because
 * nothing remains (Python prints None).
 */
export function storageQuotaFullMessage(size: number | null, remaining: number): string {
  return `The size of the data ${size === null ? 'None' : size} will exceed the limit. ${remaining} bytes remaining.`;
}

/** user_storage_quota refused an upload (Glance's image data API wording). */
export class StorageQuotaFull extends TooLarge {
  constructor(size: number | null, remaining: number) {
    super(`Image exceeds the storage quota: ${storageQuotaFullMessage(size, remaining)}`);
  }
}

/** One limit a request would pass (oslo.limit's OverLimitInfo). */
export interface OverLimit {
  readonly resource: LimitResource;
  readonly limit: number;
  readonly usage: number;
  readonly delta: number;
}

/**
 * Keystone limits refused the request: Glance's LimitExceeded wrapping oslo.limit's
 * ProjectOverLimit (a Python list of the limits passed, in resource-name order).
 */
export class KeystoneLimitExceeded extends TooLarge {
  constructor(
    readonly projectId: string | null,
    readonly over: readonly OverLimit[],
  ) {
    const items = over.map((o) => `Resource ${o.resource} is over limit of ${o.limit} due to current usage ${o.usage} and delta ${o.delta}`);
    super(
      'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota ' +
        `threshold was breached.\n\nThe response body:\nProject ${projectId ?? 'None'} is over a limit for [${items.join(', ')}]`,
    );
  }
}

/**
 * Checks proposed usage against limits the way oslo.limit's flat enforcer does: every resource
 * in `deltas`, sorted by name, over its limit when usage + delta > limit.
 *
 * @throws KeystoneLimitExceeded naming every resource over its limit.
 */
export function enforceLimits(
  projectId: string | null,
  limits: Readonly<Partial<Record<LimitResource, number>>>,
  usage: Readonly<Partial<Record<LimitResource, number>>>,
  deltas: Readonly<Partial<Record<LimitResource, number>>>,
): void {
  const over: OverLimit[] = [];
  for (const resource of (Object.keys(deltas) as LimitResource[]).sort()) {
    const limit = limits[resource] ?? 0;
    const current = usage[resource] ?? 0;
    const delta = deltas[resource] ?? 0;
    if (current + delta > limit) over.push({ resource, limit, usage: current, delta });
  }
  if (over.length > 0) throw new KeystoneLimitExceeded(projectId, over);
}

// ------------------------------------------------------------------------------- ports --

/** What one owner's images use, counted as Glance's db api counts it (bytes and images). */
export interface OwnerUsage {
  /** Size × live locations of sized images not killed or deleted (user_get_storage_usage). */
  readonly storageBytes: number;
  /** Size of images being staged or imported, or copied to stores (user_get_staging_usage). */
  readonly stagingBytes: number;
  /** Images not killed or deleted (user_get_image_count). */
  readonly images: number;
  /** Images saving, uploading, importing or being copied (user_get_uploading_count). */
  readonly uploading: number;
}

/** A byte reservation request against a project's storage quota. */
export interface ReserveRequest {
  /** The project whose quota is charged; null = images without owner (Glance's admin without project). */
  readonly owner: string | null;
  readonly imageId: string;
  readonly bytes: number;
  /** The quota in bytes (user_storage_quota). */
  readonly limit: number;
  /** The process holding it (`<node>-<pid>`). */
  readonly holder: string;
  readonly now: Date;
  readonly expiresAt: Date;
}

/** The reservation was made, or refused with what remained (quota − usage − others' reservations). */
export type ReserveOutcome = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly remaining: number };

/**
 * Usage counters and byte reservations. Reservations are atomic per owner: a reservation (or
 * its growth) is granted only if usage + every live reservation + the new bytes fit the limit,
 * checked and written in one transaction serialised per owner, on every SQL engine.
 *
 * @example
 *   const r = await quotas.reserve({ owner: 'p1', imageId, bytes: 100, limit: 1000, holder, now, expiresAt });
 *   if (!r.ok) throw new StorageQuotaFull(100, r.remaining);
 *   try { … } finally { await quotas.release(r.id); }
 */
export interface QuotaRepository {
  /** The owner's usage; `excludeImage` leaves one image's data out of storageBytes (Glance's image_id). */
  usage(owner: string | null, opts?: { readonly excludeImage?: string }): Promise<OwnerUsage>;
  /** Reserves `bytes` (expired reservations of the owner are dropped first). */
  reserve(req: ReserveRequest): Promise<ReserveOutcome>;
  /**
   * Adds `bytes` to reservation `id` under the same rule (used by uploads of unknown length).
   * Refused (ok false) when it would not fit, or when the reservation is gone (expired and dropped).
   */
  grow(id: string, req: Omit<ReserveRequest, 'imageId' | 'holder'>): Promise<ReserveOutcome>;
  /** Moves the expiry of a live reservation; false when it is gone. */
  renew(id: string, expiresAt: Date): Promise<boolean>;
  /** Drops a reservation; idempotent. */
  release(id: string): Promise<void>;
  /** Drops every reservation whose holder `isDead` says is gone; returns how many. */
  releaseDeadHolders(isDead: (holder: string) => boolean): Promise<number>;
}

/** A project's limits as Keystone holds them: its own limit, else the registered default, else absent. */
export interface LimitSource {
  /**
   * The limit of each resource for `projectId` (null: registered limits only); a resource
   * Keystone has no limit for is left out (it then counts as 0).
   *
   * @throws Error when Keystone cannot be asked (configuration, authentication, network).
   */
  limitsFor(projectId: string | null, resources: readonly LimitResource[]): Promise<Partial<Record<LimitResource, number>>>;
}
