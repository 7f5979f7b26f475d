/**
 * Ports: what the domain and services need from the outside world. Implementations live in
 * persistence/, blob/, policy/ and notify/; only main.ts wires them.
 */
import type { Readable } from 'node:stream';
import type { Image, ImageStatus, Visibility } from './image.js';
import type { RequestContext } from './context.js';
import type { ImageMember } from './member.js';

// ---------------------------------------------------------------- images --

/** A comparison used by list filters on times and sizes (Glance's `gt:`, `lte:`…). */
export type ComparisonOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

export interface TimeFilter {
  readonly op: ComparisonOp;
  readonly value: Date;
}

/** A set-or-single value: Glance accepts `in:a,b` for several list filters. */
export type OneOrMany<T> = { readonly in: readonly T[] } | { readonly eq: T };

export type MemberStatus = 'pending' | 'accepted' | 'rejected';

export const SORT_KEYS = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

/**
 * What the caller may see in a list. Computed by the Policy port from the context and the
 * `visibility` / `member_status` filters, so the repository only translates it to SQL.
 */
export interface ListScope {
  /** null = no restriction (admin). Otherwise the caller's project (may be null for anonymous). */
  readonly project: string | null;
  readonly isAdmin: boolean;
  /** Visibility filter requested (`visibility=`), or 'all', or undefined for Glance's default list. */
  readonly visibility?: Visibility | 'all';
  /** `member_status=` (default `accepted`; `all` = any membership status). */
  readonly memberStatus: MemberStatus | 'all';
}

export interface ImageFilters {
  readonly name?: OneOrMany<string>;
  readonly status?: OneOrMany<string>;
  readonly id?: OneOrMany<string>;
  readonly owner?: OneOrMany<string>;
  readonly disk_format?: OneOrMany<string>;
  readonly container_format?: OneOrMany<string>;
  /** Every listed tag must be present (repeated `tag=`). */
  readonly tags?: readonly string[];
  readonly size_min?: number;
  readonly size_max?: number;
  readonly protected?: boolean;
  /** undefined = Glance's default (hidden images excluded); true/false = filter on it. */
  readonly os_hidden?: boolean;
  readonly created_at?: readonly TimeFilter[];
  readonly updated_at?: readonly TimeFilter[];
  /** Extra-property equality (`os_distro=ubuntu`). */
  readonly properties?: Readonly<Record<string, string>>;
  /**
   * Equality on other core columns, compared as text as Glance's SQL does
   * (`checksum`, `os_hash_value`, `os_hash_algo`, `min_ram`, `min_disk`, `size`, `virtual_size`).
   */
  readonly columns?: Readonly<Record<string, string>>;
}

export interface ListQuery {
  readonly scope: ListScope;
  readonly filters: ImageFilters;
  /** Sort keys in priority order; the repository appends `id` (same direction as the last key) as a tie-breaker. */
  readonly sort: readonly { readonly key: SortKey; readonly dir: SortDir }[];
  readonly limit: number;
  /** Id of the last image of the previous page; NotFound-style Invalid when it is not visible. */
  readonly marker?: string;
}

export interface ImageRepository {
  /**
   * The image with this id, or null. Deleted images are not returned unless `includeDeleted`.
   * @example const image = await images.get(id);
   */
  get(id: string, opts?: { includeDeleted?: boolean }): Promise<Image | null>;
  /**
   * One page of images matching `query`, using keyset pagination from `marker`.
   * Throws Invalid("No image found with ID <marker>") when the marker is unknown or not visible.
   */
  list(query: ListQuery): Promise<Image[]>;
  /** Inserts a new image; throws Conflict when the id exists (even soft-deleted, as Glance). */
  add(image: Image): Promise<void>;
  /**
   * Compare-and-swap save: writes every field of `image` only if the stored status is still
   * `fromStatus` (default: the image's current status); throws Conflict otherwise.
   */
  save(image: Image, opts?: { fromStatus?: ImageStatus }): Promise<void>;
  /** Soft-deletes (status `deleted`, deleted flag set); the id cannot be reused. */
  remove(id: string): Promise<void>;
  /** Start recovery: images left in `saving` return to `queued`. Returns their ids. */
  resetSaving(): Promise<string[]>;
  /** Sum of `size` over the owner's non-deleted images (user_storage_quota). */
  usedStorage(owner: string): Promise<number>;
  /** Membership status of `member` on image `imageId`, or null. */
  memberStatus(imageId: string, member: string): Promise<MemberStatus | null>;
}

// ------------------------------------------------------------------ blobs --

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

export interface StoredBlob {
  /** Store URL, e.g. `file:///var/lib/iris/images/<id>`. */
  readonly location: string;
  readonly size: number;
  /** md5 hex digest (Glance's `checksum`). */
  readonly checksum: string;
  readonly os_hash_algo: string;
  readonly os_hash_value: string;
}

export interface PutOptions {
  /** Declared length (Content-Length); a body shorter or longer than this is Invalid. */
  readonly expectedSize?: number;
  /** Hard cap; TooLarge as soon as more bytes than this arrive. */
  readonly sizeCap: number;
  /** Node crypto algorithm for os_hash_value (Glance's hashing_algorithm, default sha512). */
  readonly hashAlgo: string;
  readonly signal?: AbortSignal;
  /** Sees the data in the same pass as hashing and writing (the format inspector). */
  readonly observer?: DataObserver;
}

/**
 * Watches upload data inside the blob store's single pass: it sees every byte the store keeps,
 * in order, and has the last word before the store commits.
 * @example
 *   const inspector = createInspector();
 *   await blobs.put(id, body, { sizeCap, hashAlgo, observer: { chunk: (c) => inspector.write(c), end: () => decide(inspector.finish()) } });
 */
export interface DataObserver {
  /** Each chunk that passed the size checks. Must not keep a reference to it, modify it, or throw. */
  chunk(data: Buffer): void;
  /**
   * Called once all data has passed the size checks, before the store commits. Throwing (e.g.
   * Invalid for an image that is not what it claims) fails the put and nothing is stored.
   */
  end(): void;
}

/**
 * One facade over the blob drivers: hashes, enforces sizes, commits atomically.
 * @example const blob = await blobs.put(image.id, request.raw, { sizeCap, hashAlgo: 'sha512' });
 */
export interface BlobStore {
  /**
   * Streams `source` into the default store, computing size, md5 and the multihash in the
   * same pass. On any error (source error, abort, size mismatch, cap exceeded, disk full)
   * nothing is left behind and the error is rethrown (TooLarge, Invalid, StorageFull…).
   */
  put(imageId: string, source: Readable, opts: PutOptions): Promise<StoredBlob>;
  /** Opens a location for reading, optionally a byte range (already validated). */
  get(location: string, opts?: { range?: ByteRange; signal?: AbortSignal }): Promise<{ stream: Readable; size: number }>;
  /** Deletes a location; idempotent (missing data is not an error). */
  delete(location: string): Promise<void>;
  /** Start recovery: removes staging/temp files left by a crash. Returns how many. */
  sweep(): Promise<number>;
}

// ----------------------------------------------------------------- others --

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  uuid(): string;
}

/** Notifications (Glance's image.create, image.upload…). Never throws. */
export interface Notifier {
  emit(type: string, payload: Record<string, unknown>): void;
}

export type { RequestContext };

// --------------------------------------------------------------- members --

/**
 * The memberships of images (Glance's image_members). Only live memberships are read;
 * removing one soft-deletes it, and adding the same project again revives that row.
 * The repository does not check who is asking: the service filters by policy.
 *
 * @example
 *   await members.add(newImageMember(image.id, 'project-b', clock.now()));
 *   const mine = await members.get(image.id, 'project-b');
 */
export interface MemberRepository {
  /** The image's live memberships, oldest first (Glance's creation order). */
  list(imageId: string): Promise<ImageMember[]>;
  /** The live membership of `memberId` on the image, or null. */
  get(imageId: string, memberId: string): Promise<ImageMember | null>;
  /** How many live memberships the image has (image_member_quota counts these). */
  count(imageId: string): Promise<number>;
  /**
   * Adds a live membership and returns it as stored. When the project was a member before
   * (a soft-deleted row), that row is revived and keeps its original `created_at`, as
   * Glance's ImageMemberRepo.add does. Throws Conflict when a live membership exists.
   */
  add(member: ImageMember): Promise<ImageMember>;
  /** Writes `status` and `updated_at` of a live membership; NotFound when there is none. */
  save(member: ImageMember): Promise<void>;
  /** Soft-deletes the live membership; NotFound when there is none. */
  remove(imageId: string, memberId: string): Promise<void>;
}
