/**
 * Pure mapping of Glance records (glance-reader.ts) onto Iris's entities, with the verdict on
 * each piece that is not carried as it is. No I/O: the importer decides what to write.
 *
 * Decisions (documented in docs/import-glance-db.md):
 * - images deleted in Glance (deleted = 1, whatever their status, pending_delete included) are
 *   skipped and counted; their bytes, if any remain, are Glance's scrubber's business;
 * - soft-deleted properties, tags, locations and memberships are history and are not read;
 * - a `file://` location inside a configured filesystem store is served in place; its
 *   `metadata.store` is set to that store's id when Iris runs with enabled_backends and
 *   dropped when it runs a single store (Glance writes it the same way in each mode);
 * - any other location (swift, rbd, s3, http, cinder, a file outside every store) is carried
 *   unchanged, because Iris's schema holds any URL, and reported as not servable.
 */
import { IMAGE_STATUSES, VISIBILITIES, type Image, type ImageLocation, type ImageStatus, type Visibility } from '../../domain/image.js';
import { MEMBER_STATUSES, type ImageMember } from '../../domain/member.js';
import { TASK_STATUSES, TASK_TYPES, type Task, type TaskStatus, type TaskType } from '../../domain/task.js';
import type { MemberStatus } from '../../domain/ports.js';
import type { GlanceImage, GlanceLocation, GlanceTask } from './glance-reader.js';

/** The filesystem stores of the Iris configuration the import targets. */
export interface TargetStores {
  readonly stores: readonly { readonly id: string; readonly dir: string }[];
  /** The other configured stores (swift, s3, http, rbd): their locations are served as carried. */
  readonly remote?: readonly { readonly id: string; readonly type: string }[];
  /** Iris runs with [DEFAULT] enabled_backends (locations name their store). */
  readonly multiStore: boolean;
}

export type LocationVerdict =
  /** Iris serves it from this store; `storeChanged` when metadata.store was rewritten or dropped. */
  | {
      readonly kind: 'servable';
      readonly store: string;
      readonly storeChanged: boolean;
      /** The file of a filesystem store (checked for existence); absent for remote stores. */
      readonly path?: string;
    }
  /** Carried unchanged, but no Iris store can read it; `reason` is the report's wording. */
  | { readonly kind: 'not-servable'; readonly reason: string }
  /** Not carried. */
  | { readonly kind: 'skipped'; readonly reason: string };

export interface MappedImage {
  readonly image: Image;
  readonly members: readonly ImageMember[];
  /** One verdict per live Glance location, in order. */
  readonly locations: readonly LocationVerdict[];
  /** Memberships not carried, with why. */
  readonly skippedMembers: readonly string[];
  /** Remarks for the report (bad metadata JSON, can_share dropped, …). */
  readonly notes: readonly string[];
}

export type ImageMapping = { readonly kind: 'skip'; readonly reason: string } | { readonly kind: 'carry'; readonly mapped: MappedImage };
export type TaskMapping = { readonly kind: 'skip'; readonly reason: string } | { readonly kind: 'carry'; readonly task: Task; readonly notes: readonly string[] };

const LOCATION_STATUSES: readonly string[] = ['active', 'pending_delete', 'deleted'];

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** The store type a location URL belongs to: its scheme without a `+transport` suffix (swift+https → swift). */
export function storeTypeOf(url: string): string {
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  const base = scheme.split('+')[0] ?? '';
  return base === 'https' ? 'http' : base || 'unknown';
}

/**
 * The store whose directory holds the file of a `file://` URL directly (the filesystem
 * driver only reads `file://<dir>/<name>` with a plain name), or undefined.
 */
function fileStoreOf(url: string, target: TargetStores): { readonly id: string } | undefined {
  if (!url.startsWith('file://')) return undefined;
  const path = url.slice('file://'.length);
  return target.stores.find((s) => {
    const prefix = s.dir.endsWith('/') ? s.dir : `${s.dir}/`;
    if (!path.startsWith(prefix)) return false;
    const name = path.slice(prefix.length);
    return name !== '' && !name.includes('/') && !name.startsWith('.');
  });
}

/**
 * The configured store of `type` that serves a non-file location: the one Glance recorded when
 * Iris has a store of that id and type, else the first of that type (the driver checks the
 * location itself when it is read).
 */
function remoteStoreOf(type: string, recorded: unknown, target: TargetStores): { readonly id: string } | undefined {
  const candidates = (target.remote ?? []).filter((s) => s.type === type);
  return candidates.find((s) => s.id === recorded) ?? candidates[0];
}

function parseMetadata(text: string | null): Record<string, unknown> | undefined {
  if (text === null || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function mapLocation(
  location: GlanceLocation,
  target: TargetStores,
  notes: string[],
): { readonly verdict: LocationVerdict; readonly location?: ImageLocation } {
  if (!isOneOf(LOCATION_STATUSES, location.status)) {
    return { verdict: { kind: 'skipped', reason: `status ${location.status} Iris does not know` } };
  }
  let metadata = parseMetadata(location.metadataText);
  if (metadata === undefined) {
    notes.push('location metadata was not a JSON object; carried as {}');
    metadata = {};
  }
  const status = location.status as ImageLocation['status'];
  const store = fileStoreOf(location.url, target);
  if (store !== undefined) {
    const { store: recorded, ...rest } = metadata;
    const wanted = target.multiStore ? { ...rest, store: store.id } : rest;
    const storeChanged = target.multiStore ? recorded !== store.id : recorded !== undefined;
    const path = location.url.slice('file://'.length);
    return { verdict: { kind: 'servable', store: store.id, storeChanged, path }, location: { url: location.url, metadata: wanted, status } };
  }
  const type = storeTypeOf(location.url);
  const remote = remoteStoreOf(type, metadata.store, target);
  if (remote !== undefined) {
    const { store: recorded, ...rest } = metadata;
    const wanted = target.multiStore ? { ...rest, store: remote.id } : rest;
    const storeChanged = target.multiStore ? recorded !== remote.id : recorded !== undefined;
    return { verdict: { kind: 'servable', store: remote.id, storeChanged }, location: { url: location.url, metadata: wanted, status } };
  }
  const reason = type === 'file' ? 'with a file outside every configured filesystem store' : `in stores Iris does not have: ${type}`;
  return { verdict: { kind: 'not-servable', reason }, location: { url: location.url, metadata, status } };
}

/** Maps one Glance image (and its live child rows) for the Iris configuration `target`. */
export function mapGlanceImage(glance: GlanceImage, target: TargetStores): ImageMapping {
  if (glance.deleted || glance.status === 'deleted' || glance.status === 'pending_delete') {
    return { kind: 'skip', reason: 'deleted in Glance' };
  }
  if (!isOneOf<ImageStatus>(IMAGE_STATUSES, glance.status)) return { kind: 'skip', reason: `status ${glance.status} Iris does not know` };
  if (!isOneOf<Visibility>(VISIBILITIES, glance.visibility)) {
    return { kind: 'skip', reason: `visibility ${glance.visibility} Iris does not know` };
  }
  const notes: string[] = [];
  const verdicts: LocationVerdict[] = [];
  const locations: ImageLocation[] = [];
  for (const location of glance.locations) {
    const { verdict, location: mapped } = mapLocation(location, target, notes);
    verdicts.push(verdict);
    if (mapped !== undefined) locations.push(mapped);
  }
  const members: ImageMember[] = [];
  const skippedMembers: string[] = [];
  for (const m of glance.members) {
    if (!isOneOf<MemberStatus>(MEMBER_STATUSES as MemberStatus[], m.status)) {
      skippedMembers.push(`status ${m.status} Iris does not know`);
      continue;
    }
    // can_share belongs to the v1 API Glance removed; the v2 API never shows or reads it.
    if (m.canShare) notes.push(`member ${m.member}: can_share (a v1 attribute) not carried`);
    members.push({ image_id: glance.id, member_id: m.member, status: m.status, created_at: m.createdAt, updated_at: m.updatedAt });
  }
  // fromEntries defines own properties, so a property named "__proto__" stays data.
  const properties: Record<string, string> = Object.fromEntries(glance.properties.map((p) => [p.name, p.value]));
  const image: Image = {
    id: glance.id,
    name: glance.name,
    status: glance.status,
    visibility: glance.visibility,
    protected: glance.protected,
    os_hidden: glance.osHidden,
    checksum: glance.checksum,
    os_hash_algo: glance.osHashAlgo,
    os_hash_value: glance.osHashValue,
    owner: glance.owner,
    size: glance.size,
    virtual_size: glance.virtualSize,
    disk_format: glance.diskFormat,
    container_format: glance.containerFormat,
    min_ram: glance.minRam,
    min_disk: glance.minDisk,
    created_at: glance.createdAt,
    updated_at: glance.updatedAt,
    tags: [...new Set(glance.tags)],
    properties,
    locations,
  };
  return { kind: 'carry', mapped: { image, members, locations: verdicts, skippedMembers, notes } };
}

function parseJsonObject(text: string | null): Record<string, unknown> | null | undefined {
  if (text === null) return null;
  const parsed = parseMetadata(text);
  return parsed;
}

/** Maps one Glance task (tasks + task_info). */
export function mapGlanceTask(glance: GlanceTask): TaskMapping {
  if (glance.deleted) return { kind: 'skip', reason: 'deleted in Glance' };
  if (!isOneOf<TaskType>(TASK_TYPES, glance.type)) return { kind: 'skip', reason: `type ${glance.type} Iris does not run` };
  if (!isOneOf<TaskStatus>(TASK_STATUSES, glance.status)) return { kind: 'skip', reason: `status ${glance.status} Iris does not know` };
  const notes: string[] = [];
  const input = parseJsonObject(glance.inputText);
  const result = parseJsonObject(glance.resultText);
  if (input === undefined) notes.push(`task ${glance.id}: input was not a JSON object; carried as null`);
  if (result === undefined) notes.push(`task ${glance.id}: result was not a JSON object; carried as null`);
  return {
    kind: 'carry',
    notes,
    task: {
      id: glance.id,
      type: glance.type,
      status: glance.status,
      owner: glance.owner,
      image_id: glance.imageId,
      request_id: glance.requestId,
      user_id: glance.userId,
      expires_at: glance.expiresAt,
      created_at: glance.createdAt,
      updated_at: glance.updatedAt,
      input: input ?? null,
      result: result ?? null,
      message: glance.message ?? '',
    },
  };
}

/** Canonical JSON (object keys sorted), so two equal values compare equal as text. */
function canonical(value: unknown): string {
  // Dates arrive here already as ISO text (toJSON runs before the replacer).
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** Whether Iris already holds exactly this image (tags compared as a set, as Glance treats them). */
export function sameImage(a: Image, b: Image): boolean {
  const norm = (i: Image) => canonical({ ...i, tags: [...i.tags].sort() });
  return norm(a) === norm(b);
}

/** Whether a stored task equals the mapped one. */
export function sameTask(a: Task, b: Task): boolean {
  return canonical(a) === canonical(b);
}
