/**
 * The Image entity and its status machine.
 *
 * Field names are Glance's wire names (snake_case) on purpose: they are the vocabulary
 * operators, clients and the database all share, and renaming them would only add a
 * mapping layer where bugs hide.
 */
import { Conflict, Invalid } from './errors.js';

export const IMAGE_STATUSES = [
  'queued',
  'saving',
  'active',
  'killed',
  'deleted',
  'uploading',
  'importing',
  'pending_delete',
  'deactivated',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const VISIBILITIES = ['community', 'public', 'private', 'shared'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Where an image's bytes live; never shown to users unless show_image_direct_url. */
export interface ImageLocation {
  readonly url: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly status: 'active' | 'pending_delete' | 'deleted';
}

export interface Image {
  readonly id: string;
  name: string | null;
  /** Changed only through transition() (the table above it). */
  readonly status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  os_hidden: boolean;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  disk_format: string | null;
  container_format: string | null;
  min_ram: number;
  min_disk: number;
  created_at: Date;
  updated_at: Date;
  /** Tags, kept in insertion order (Glance returns set order; order is not part of the API). */
  tags: string[];
  /** Free-form ("extra") properties; values are strings. */
  properties: Record<string, string>;
  locations: ImageLocation[];
}

/**
 * Allowed status transitions, as Glance's domain enforces them
 * (glance/domain/__init__.py `valid_state_targets`).
 */
const TRANSITIONS: Readonly<Record<ImageStatus, readonly ImageStatus[]>> = {
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'killed', 'deleted', 'queued'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'deleted', 'queued'],
  active: ['pending_delete', 'deleted', 'deactivated'],
  killed: ['deleted'],
  pending_delete: ['deleted', 'active'],
  deleted: [],
  deactivated: ['deleted', 'active'],
};

/** Staying in the same status is not a transition and always allowed. */
export function canTransition(from: ImageStatus, to: ImageStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** Throws Conflict with Glance's wording when `from → to` is not an allowed transition. */
export function assertTransition(from: ImageStatus, to: ImageStatus): void {
  if (!canTransition(from, to)) {
    throw new Conflict(`Image status transition from ${from} to ${to} is not allowed`);
  }
}

/** The fields that may change together with the status (never the id). */
export type ImageChanges = Partial<Omit<Image, 'id' | 'status'>>;

/**
 * The one way an image's status changes: `image` moved to `to` with `changes` applied
 * (checksums, size, updated_at …). Throws Conflict when the table above forbids the move;
 * the caller saves the result with `{ fromStatus: image.status }` (compare-and-swap).
 *
 * @example images.save(transition(image, 'saving', { updated_at: now }), { fromStatus: image.status })
 */
export function transition(image: Image, to: ImageStatus, changes: ImageChanges = {}): Image {
  assertTransition(image.status, to);
  return { ...image, ...changes, status: to };
}

/**
 * A bulk status change the repository runs in SQL (`UPDATE … SET status = to WHERE status IN
 * from`), checked against the table once, when the module loads.
 */
export interface StatusChange {
  readonly from: readonly ImageStatus[];
  readonly to: ImageStatus;
}

function statusChange(from: readonly ImageStatus[], to: ImageStatus): StatusChange {
  for (const f of from) assertTransition(f, to);
  return { from, to };
}

/** Start-up reset of uploads a crash cut off (saving → queued, Glance's retry path). */
export const RESET_INTERRUPTED_UPLOAD = statusChange(['saving'], 'queued');

/** The statuses in which a process moves an image's data: an upload (saving), a stage (uploading). */
export type TransferStatus = 'saving' | 'uploading';

/** Who moves an image's data, and until when unless renewed. */
export interface TransferLease {
  /** The process, `<node>-<pid>` (blob/writer-identity.ts). */
  readonly owner: string;
  readonly expires_at: Date;
}

/**
 * Which transfers are abandoned: those of `owners` (processes known to be gone), those whose
 * lease ended by `leaseEndedBy`, and those without a lease (written by a release before leases)
 * last updated before `unleasedBefore`.
 */
export interface AbandonedTransfers {
  readonly owners: readonly string[];
  readonly leaseEndedBy: Date;
  readonly unleasedBefore: Date;
}

/** Deleting an image: every live status may go to `deleted`. */
export const DELETE_IMAGE = statusChange(
  IMAGE_STATUSES.filter((s) => s !== 'deleted'),
  'deleted',
);

/** The status of a location whose image is deleted (its row stays so a clean-up knows the data). */
export const DELETED_LOCATION_STATUS: ImageLocation['status'] = 'deleted';

/** The status of a location whose data serves the image. */
export const ACTIVE_LOCATION_STATUS: ImageLocation['status'] = 'active';

/** The status of a location whose data waits for the scrubber (delayed delete). */
export const PENDING_DELETE_LOCATION_STATUS: ImageLocation['status'] = 'pending_delete';

/** The scrubber's end of a delayed delete: every location's data is gone. */
export const SCRUB_IMAGE = statusChange(['pending_delete'], 'deleted');

/** `iris-scrubber --restore`: a pending_delete image back to active (glance-scrubber --restore). */
export const RESTORE_IMAGE = statusChange(['pending_delete'], 'active');

/**
 * Where DELETE takes the image, as Glance's Image.delete: with delayed_delete an image that
 * has data waits in `pending_delete` (its data kept, its locations marked for the scrubber);
 * otherwise, and for an image without data, straight to `deleted`.
 */
export function deletionTarget(image: Image, delayedDelete: boolean): ImageStatus {
  return delayedDelete && image.locations.length > 0 ? 'pending_delete' : 'deleted';
}

/**
 * The image in `pending_delete`, its locations marked for the scrubber. Throws Invalid with
 * Glance's wording when the image's status may not go there (a deactivated image: Glance
 * answers its InvalidImageStatusTransition with 400).
 */
export function scheduleDelete(image: Image, changes: ImageChanges = {}): Image {
  if (!canTransition(image.status, 'pending_delete')) {
    throw new Invalid(`Image status transition from ${image.status} to pending_delete is not allowed`);
  }
  const scheduled = transition(image, 'pending_delete', changes);
  return { ...scheduled, locations: image.locations.map((l) => ({ ...l, status: PENDING_DELETE_LOCATION_STATUS })) };
}

/** The fields every new image is created with; it starts `queued`, with no data. */
export type NewImageFields = Omit<Image, 'status' | 'checksum' | 'os_hash_algo' | 'os_hash_value' | 'size' | 'locations'>;

/** A new image (Glance's ImageFactory.new_image): queued, no data, no locations. */
export function newImage(fields: NewImageFields): Image {
  return { ...fields, status: 'queued', checksum: null, os_hash_algo: null, os_hash_value: null, size: null, locations: [] };
}

/**
 * Data may only be saved once the image says what it is: Glance refuses the queued → saving
 * transition while disk_format or container_format is unset (glance/domain Image.status).
 */
export function assertReadyForData(image: Image): void {
  const missing = (['disk_format', 'container_format'] as const).filter((k) => !image[k]);
  if (missing.length === 1) throw new Invalid(`Property ${missing[0]} must be set prior to saving data.`);
  if (missing.length > 1) throw new Invalid(`Properties ${missing.join(', ')} must be set prior to saving data.`);
}

/**
 * The location record of stored data. In multi-store mode it names its store
 * (`metadata.store`, which the image view's `stores` and per-store deletes read); the single
 * store of a legacy configuration leaves metadata empty, as Glance does.
 */
export function locationOf(blob: { readonly location: string; readonly store: string }, multiStore: boolean): ImageLocation {
  return { url: blob.location, metadata: multiStore ? { store: blob.store } : {}, status: ACTIVE_LOCATION_STATUS };
}

/** The store id a location records, or null (legacy single store). */
export function storeOf(location: ImageLocation): string | null {
  const store = location.metadata.store;
  return typeof store === 'string' && store !== '' ? store : null;
}
