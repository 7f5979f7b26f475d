/**
 * Ports: what the domain and services need from the outside world. Implementations live in
 * persistence/, blob/, policy/ and notify/; only main.ts wires them.
 */
import type { Readable } from 'node:stream';
import type { AbandonedTransfers, Image, ImageStatus, TransferLease, TransferStatus, Visibility } from './image.js';
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
   * Compare-and-swap save: writes `image` only if the stored status is still `fromStatus`
   * (default: the image's current status); throws Conflict otherwise. With `previous` (the
   * image as loaded before the change) only the properties that differ from it are written,
   * so a property set meanwhile by another writer (`setPropertyAtomic`) is kept. A status change
   * ends any transfer lease, or records `lease` in the same statement (an upload or stage starting:
   * no moment without an owner, so a node restarting never mistakes it for an abandoned one).
   */
  save(image: Image, opts?: { fromStatus?: ImageStatus; previous?: Image; lease?: TransferLease }): Promise<void>;
  /** Soft-deletes (status `deleted`, deleted flag set); the id cannot be reused. */
  remove(id: string): Promise<void>;
  /**
   * Records (or, with null, clears) the lease of the process moving image `id`'s data while the
   * image is in `status`; false when it is not in that status any more (finished, deleted, or
   * reset by another node).
   */
  holdTransfer(id: string, status: TransferStatus, lease: TransferLease | null): Promise<boolean>;
  /** The owners recorded on transfers in progress (saving, uploading). */
  transferOwners(): Promise<string[]>;
  /** Ids of the live images in `status` whose transfer `which` says is abandoned. */
  abandonedTransfers(status: TransferStatus, which: AbandonedTransfers): Promise<string[]>;
  /** Abandoned uploads (`which`) go from `saving` back to `queued`; returns their ids. */
  resetSaving(which: AbandonedTransfers): Promise<string[]>;
  /**
   * Delayed delete: writes `image` (already moved to pending_delete by `scheduleDelete`, its
   * locations marked) as hidden as a deleted image — get, list and save no longer see it,
   * the id cannot be reused — but keeps its properties, tags, memberships and locations, so
   * `ScrubQueue.restore` can undo it. Compare-and-swap on `fromStatus`: Conflict when the
   * stored status changed, NotFound when the image is gone.
   */
  markPendingDelete(image: Image, opts: { fromStatus: ImageStatus }): Promise<void>;
  /**
   * Records that the data at `url` of the deleted image `imageId` is gone (an immediate
   * delete that succeeded), so the scrubber's orphan sweep leaves that location alone.
   */
  recordDataDeleted(imageId: string, url: string): Promise<void>;
  /** Every live image in `status` (start recovery looks at those a crash left `uploading`). */
  withStatus(status: ImageStatus): Promise<Image[]>;
  /** Sum of `size` over the owner's non-deleted images (user_storage_quota). */
  usedStorage(owner: string): Promise<number>;
  /** Membership status of `member` on image `imageId`, or null. */
  memberStatus(imageId: string, member: string): Promise<MemberStatus | null>;
  /**
   * Adds extra property `name` = `value` only if the image has no such property (Glance's
   * set_property_atomic, the import lock). Conflict when it exists; NotFound for no image.
   */
  setPropertyAtomic(imageId: string, name: string, value: string): Promise<void>;
  /** Removes property `name` only if its value is `value`; false when it was not (or absent). */
  deletePropertyAtomic(imageId: string, name: string, value: string): Promise<boolean>;
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
  /** Id of the store holding it (Glance's backend id; `file` for the single store). */
  readonly store: string;
  readonly size: number;
  /** md5 hex digest (Glance's `checksum`); null when the put was asked for no digests. */
  readonly checksum: string | null;
  readonly os_hash_algo: string | null;
  readonly os_hash_value: string | null;
}

export interface PutOptions {
  /** Declared length (Content-Length); a body shorter or longer than this is Invalid. */
  readonly expectedSize?: number;
  /** Hard cap; TooLarge as soon as more bytes than this arrive. */
  readonly sizeCap: number;
  /**
   * Node crypto algorithm for os_hash_value (Glance's hashing_algorithm, default sha512), hashed
   * beside md5. null: no digests at all, only the size checks (the staging store: nobody reads a
   * staged file's digests, the import hashes the bytes it copies into the store).
   */
  readonly hashAlgo: string | null;
  readonly signal?: AbortSignal;
  /** Sees the data in the same pass as hashing and writing (the format inspector). */
  readonly observer?: DataObserver;
  /** Id of the store to write to; default: the default store. Invalid when unknown. */
  readonly store?: string;
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
  /**
   * The same observation, runnable on another thread (a store pass that moves the bytes off the
   * event loop): `module` exports `createObserver(options)` returning `{ chunk(data), finish() }`,
   * and `conclude` gets what `finish()` returned there, in place of `end` (it may throw as
   * `end` does). Absent = the data must pass through `chunk` on this thread.
   */
  readonly portable?: {
    readonly module: string;
    readonly options: unknown;
    conclude(finished: unknown): void;
  };
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
  /**
   * Opens a location for reading, optionally a byte range (already validated). `store` is the
   * location's store id (its `metadata.store`); without it the location's scheme decides.
   * `image` names the image in trace lines only.
   */
  get(
    location: string,
    opts?: { range?: ByteRange; signal?: AbortSignal; store?: string | null; image?: string },
  ): Promise<{ stream: Readable; size: number }>;
  /**
   * Finds the store serving a location given from outside (the locations API) and the size of
   * its data, as glance_store's get_size_from_backend: the default store first, then the first
   * store of the location's scheme.
   * @throws Invalid when no configured store handles the scheme; NotFound when there is no data;
   *   the store's own error when it cannot be asked.
   */
  locate(location: string, opts?: { signal?: AbortSignal }): Promise<{ size: number; store: string }>;
  /** Deletes a location; idempotent (missing data is not an error). @throws InUseByStore. */
  delete(location: string, store?: string | null): Promise<void>;
  /**
   * Whether the store would refuse to delete the location because something outside Iris
   * depends on it (RBD clones); false for stores without such dependants.
   */
  inUse?(location: string, store?: string | null): Promise<boolean>;
  /**
   * Start recovery: removes partial writes (temp files, segments, multipart uploads) older than
   * the store's partial-write age, which crashed writes leave behind. Returns how many.
   */
  sweep(): Promise<number>;
  /** Whether a store with this id exists. */
  has(store: string): boolean;
  /** Ids of every store, in configuration order. */
  readonly stores: readonly string[];
  /** Id of the store uploads go to by default. */
  readonly defaultStore: string;
  /** Releases every store's connections; called once, at shutdown, when nothing reads or writes. */
  close(): Promise<void>;
}

// ----------------------------------------------------------------- scrub --

/**
 * A location whose data the scrubber is to delete: one of a pending_delete image whose
 * scrub_time has passed, or an orphan (a location marked deleted whose data may remain).
 */
export interface ScrubJob {
  /** The location row (claims are per row). */
  readonly locationId: number;
  readonly imageId: string;
  readonly url: string;
  /** The location's store id (`metadata.store`), null in a single-store configuration. */
  readonly store: string | null;
  readonly kind: 'pending_delete' | 'orphan';
}

/** Who is asking, and the time: the scrubber's side of every claim. */
export interface ScrubClaimer {
  /** This scrubber process, `<node>-<pid>`. */
  readonly owner: string;
  readonly now: Date;
  /** Owners whose claims may be taken over at once (processes known to be gone). */
  readonly deadOwners?: readonly string[];
}

/**
 * The scrubber's queue, kept in the database (Glance's ScrubDBQueue): which data waits for
 * deletion, who is deleting it, and what is done. Every step is a compare-and-swap on one
 * row, so scrubbers on several nodes share the work without deleting anything twice and a
 * scrubber killed mid-run leaves a state the next run resumes from.
 *
 * @example
 *   for (const job of await queue.due({ scrubBefore, limit: 1000 }, me))
 *     if (await queue.claim(job, until, me)) { await blobs.delete(job.url, job.store); await queue.finish(job, me); }
 */
export interface ScrubQueue {
  /**
   * Up to `limit` jobs, oldest location first, after `afterLocationId`: the pending_delete
   * locations of pending_delete images deleted at or before `scrubBefore` (with `orphans`,
   * also locations marked deleted whose data was never found deleted), leaving out those
   * under another scrubber's live claim.
   */
  due(
    which: { readonly scrubBefore: Date; readonly orphans: boolean; readonly limit: number; readonly afterLocationId?: number },
    claimer: ScrubClaimer,
  ): Promise<ScrubJob[]>;
  /**
   * Takes the job until `until` if it is still to do and nobody else holds a live claim on
   * it (a claim of a dead owner, or one that ran out, is taken over). False: leave it.
   */
  claim(job: ScrubJob, until: Date, claimer: ScrubClaimer): Promise<boolean>;
  /**
   * The job's data is gone: the location becomes deleted with `scrubbed_at`, the claim is
   * released. False when the claim was lost meanwhile (ran out and taken over).
   */
  finish(job: ScrubJob, claimer: ScrubClaimer): Promise<boolean>;
  /** Gives the claim up after a failed delete, so a later run retries the job. */
  release(job: ScrubJob, claimer: ScrubClaimer): Promise<void>;
  /**
   * Marks deleted every pending_delete image none of whose locations waits any more, as the
   * scrubber does once an image's data is gone everywhere; its properties and tags go and its
   * memberships are soft-deleted, as for an immediate delete. Returns their ids.
   */
  completeScrubbed(now: Date): Promise<string[]>;
  /**
   * Brings a pending_delete image back to active with its locations (glance-scrubber
   * --restore). NotFound("No image found with ID <id>") when there is no such image; Conflict
   * with Glance's wording for another status, and when a scrubber has begun deleting its data.
   */
  restore(imageId: string, now: Date): Promise<void>;
  /** The owners of the claims held now (the scrubber looks which are dead processes). */
  claimOwners(): Promise<string[]>;
}

/**
 * The node's image cache as the download path sees it (src/cache/image-cache.ts). Cache
 * faults never surface: a miss, a stale or a damaged entry all read as "not cached".
 * @example
 *   const hit = await cache.open(image, range);
 *   const stream = hit?.stream ?? cache.fill(image, await readFromStore()).stream;
 */
export interface DownloadCache {
  /** The cached data of an active image (a byte range, or all), or null to read the store. */
  open(image: Image, range: ByteRange | null): Promise<{ stream: Readable; size: number } | null>;
  /** Wraps a full read from the store so that it also fills the cache; returns what to send. */
  fill(image: Image, source: Readable): { readonly stream: Readable };
}

// ---------------------------------------------------------------- import --

/**
 * Opens a web-download source; throws domain errors (Invalid, TooLarge) with clear messages.
 * @example const { stream } = await web.open('https://example.com/cirros.img', { sizeCap: 1 << 30 });
 */
export interface WebSource {
  /** Glance's [import_filtering_opts] check, done before the task is created. */
  passesFilter(uri: string): boolean;
  /** `headers` go to the URI's own origin only, never to a redirect elsewhere. */
  open(
    uri: string,
    opts: { sizeCap: number; signal?: AbortSignal; headers?: Readonly<Record<string, string>> },
  ): Promise<{ stream: Readable; contentLength: number | null }>;
}

/**
 * The remote region's Glance, as a glance-download import reads it with the caller's token.
 * Throws domain errors (Invalid, TooLarge) with clear messages; any failure fails the task.
 * @example
 *   const image = await remote.image(endpoint, id, token, { signal });
 *   const { stream } = await remote.open(endpoint, id, token, { sizeCap, signal });
 */
export interface RemoteGlance {
  /** GET {endpoint}/v2/images/{id}: the image as the remote Glance shows it. */
  image(endpoint: string, id: string, token: string, opts: { signal?: AbortSignal }): Promise<Record<string, unknown>>;
  /** GET {endpoint}/v2/images/{id}/file: the image's data. */
  open(endpoint: string, id: string, token: string, opts: { sizeCap: number; signal?: AbortSignal }): Promise<Readable>;
}

/** What an import plugin sees. */
export interface ImportPluginContext {
  readonly imageId: string;
  /** The image as it is now (status importing). */
  readonly image: Image;
  /**
   * The staged data. A plugin that transforms it writes the result elsewhere in `tempDir` and
   * renames it over this path (atomic; temp files there are swept at start after a crash).
   */
  readonly stagedPath: string;
  readonly tempDir: string;
  /** Roles of the caller who asked for the import (inject_metadata's ignore_user_roles). */
  readonly roles: readonly string[];
  readonly signal: AbortSignal;
}

/** Changes a plugin makes to the image; applied before the data goes to the stores. */
export interface ImportPluginResult {
  readonly disk_format?: string;
  readonly container_format?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * One import plugin. Throwing fails the import (IrisError messages reach the task's message).
 * @example const plugin: ImportPlugin = { name: 'inject_image_metadata', run: async () => ({ properties: { a: 'b' } }) };
 */
export interface ImportPlugin {
  readonly name: string;
  run(c: ImportPluginContext): Promise<ImportPluginResult | void>;
}

// ----------------------------------------------------------------- others --

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  uuid(): string;
}

/**
 * Leases on transfers (uploads, stages) so that several nodes sharing the database never reset
 * each other's transfers in progress (src/services/transfer-leases.ts).
 */
export interface TransferLeaseHolder {
  /**
   * Holds image `imageId`'s transfer in `status`, renewing the lease until `release()`. The
   * signal aborts (409) when the image left that status meanwhile: another node found the lease
   * ended and reset the image.
   */
  hold(imageId: string, status: TransferStatus): HeldTransfer;
  /** A lease for this process from now, to record with the status change that starts a transfer. */
  lease(): TransferLease;
}

export interface HeldTransfer {
  readonly signal: AbortSignal;
  release(): void;
}

/** Who caused a notification: a request's ids (RequestContext fits), or those a task recorded. */
export interface NotificationContext {
  readonly requestId: string | null;
  readonly globalRequestId?: string | null;
  readonly userId: string | null;
  readonly projectId: string | null;
}

export interface NotifyOptions {
  readonly priority?: 'INFO' | 'WARN' | 'ERROR';
  readonly context?: NotificationContext;
}

/**
 * Notifications (Glance's image.create, image.upload…), sent once the change they report is
 * committed. Never throws, never waits: delivery happens in the background (src/notify/).
 * @example notifier.emit('image.update', imagePayload(image));
 */
export interface Notifier {
  /**
   * Sends event `type` with `payload` (an object, or the text of an error notification) at
   * `opts.priority` (default INFO; Glance's failed uploads are ERROR), on behalf of
   * `opts.context` (the request, or the task's for background work). Disabled types are
   * dropped here.
   */
  emit(type: string, payload: Record<string, unknown> | string, opts?: NotifyOptions): void;
  /** False when `type` would go nowhere, so a caller can skip the work of building it (image.send's byte count). */
  enabled?(type: string): boolean;
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

// ----------------------------------------------------------------- tasks --

export type { Task, TaskStatus, TaskType } from './task.js';
import type { Task, TaskLease, TaskStatus } from './task.js';

/**
 * Every task column Glance's task_get_all can sort on (its sort key is any column of the
 * tasks model; anything else is "Sort key supplied was not valid.").
 */
export const TASK_SORT_KEYS = [
  'created_at',
  'updated_at',
  'id',
  'type',
  'status',
  'expires_at',
  'owner',
  'image_id',
  'request_id',
  'user_id',
  'deleted_at',
  'deleted',
] as const;
export type TaskSortKey = (typeof TASK_SORT_KEYS)[number];

/** Columns a task list can be filtered on by equality (Glance filters on any tasks column). */
export const TASK_TEXT_FILTER_KEYS = ['id', 'type', 'status', 'owner', 'image_id', 'request_id', 'user_id'] as const;
export const TASK_TIME_FILTER_KEYS = ['created_at', 'updated_at', 'expires_at', 'deleted_at'] as const;
export type TaskTextFilterKey = (typeof TASK_TEXT_FILTER_KEYS)[number];
export type TaskTimeFilterKey = (typeof TASK_TIME_FILTER_KEYS)[number];

/**
 * Equality filters. Every listed value must equal the column (a repeated query parameter is
 * ANDed, as Glance applies each one), so two different values match nothing; a null value
 * matches nothing either (SQL `= NULL`), which is how a time that cannot equal any stored
 * time is passed down.
 */
export type TaskFilters = { readonly [K in TaskTextFilterKey]?: readonly string[] } & {
  readonly [K in TaskTimeFilterKey]?: readonly (Date | null)[];
};

export interface TaskListQuery {
  /** null = every owner (admin); otherwise only this owner's tasks. */
  readonly owner: string | null;
  readonly filters: TaskFilters;
  /** One key; the repository adds created_at and id as tie-breakers (Glance's task_get_all). */
  readonly sortKey: TaskSortKey;
  readonly sortDir: SortDir;
  readonly limit: number;
  /** Id of the last task of the previous page; NotFound when unknown (Glance answers 400). */
  readonly marker?: string;
  /**
   * Tasks whose expires_at is at or before `now` are left out, as if already purged: Glance
   * soft-deletes expired tasks at the start of every list.
   */
  readonly now: Date;
}

/** Which unfinished tasks `failAbandoned` fails: those matching any of the given criteria. */
export interface AbandonedTasks {
  /** Tasks whose lease ended at or before this time. */
  readonly leaseEndedBy?: Date;
  /** Tasks without a lease (from before leases, or recorded by a tool): no live node renews them. */
  readonly unleased?: boolean;
  /** Tasks leased by these owners (processes known to be gone), whatever their lease says. */
  readonly owners?: readonly string[];
  /** Restricts the above to this one task. */
  readonly id?: string;
}

/**
 * The tasks of asynchronous imports (Glance's tasks + task_info). Deleted (expired and purged)
 * tasks are never returned.
 *
 * @example
 *   await tasks.add(task);
 *   await tasks.save({ ...task, status: 'processing', updated_at: now }, { fromStatus: 'pending' });
 */
export interface TaskRepository {
  /** Inserts a new task; Conflict when the id exists (even deleted: ids are never reused). */
  add(task: Task): Promise<void>;
  /** The live task with this id, or null (unknown or deleted). Expiry is not checked here. */
  get(id: string): Promise<Task | null>;
  /**
   * Compare-and-swap: writes every field of `task` only if the stored status is still
   * `fromStatus` (default: the task's current status). Conflict when it is not; NotFound
   * when the task is gone (deleted or never added).
   */
  save(task: Task, opts?: { fromStatus?: TaskStatus }): Promise<void>;
  /**
   * Heartbeat of a running task: moves its lease to `lease.expires_at` and `updated_at` to
   * `now`, only while it is pending or processing and still leased by `lease.owner`. Returns
   * false when it is not (finished, taken over by another node, gone): the owner must stop.
   */
  renewLease(id: string, lease: TaskLease, now: Date): Promise<boolean>;
  /** The distinct lease owners of pending and processing tasks (start-up recovery's candidates). */
  leaseOwners(): Promise<string[]>;
  /**
   * One page in `sortKey` order with created_at and id as tie-breakers (all in `sortDir`;
   * NULLs sort first ascending, last descending), after `marker` by keyset.
   * Throws NotFound("Task with the given id <marker> was not found") for an unknown,
   * deleted or expired marker.
   */
  list(query: TaskListQuery): Promise<Task[]>;
  /**
   * The image's live tasks in insertion order (Glance's unordered query on SQLite), expired
   * ones included: the caller decides (GET /v2/images/{id}/tasks leaves them out).
   */
  listForImage(imageId: string): Promise<Task[]>;
  /**
   * Fails abandoned tasks: every pending or processing task matching `which` becomes
   * `failure` with `message`, `expires_at` set from `expiresAt`. Atomic per task, so when
   * several nodes sweep at once each task is failed (and returned) by exactly one of them.
   * Returns the tasks it failed (as they are now), oldest first.
   */
  failAbandoned(which: AbandonedTasks, message: string, now: Date, expiresAt: Date): Promise<Task[]>;
  /** Soft-deletes finished tasks whose expires_at is at or before `now`; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}
