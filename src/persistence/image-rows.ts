/**
 * Mapping between the `Image` entity and its rows (images + properties, tags, locations).
 */
import type { Insertable, Selectable } from 'kysely';
import type { Image, ImageLocation, ImageStatus, Visibility } from '../domain/image.js';
import type {
  ImageLocationsTable,
  ImagePropertiesTable,
  ImagesTable,
  ImageTagsTable,
} from './schema.js';

export type ImageRow = Selectable<ImagesTable>;
export type PropertyRow = Pick<Selectable<ImagePropertiesTable>, 'image_id' | 'name' | 'value'>;
export type TagRow = Pick<Selectable<ImageTagsTable>, 'image_id' | 'value'>;
export type LocationRow = Pick<Selectable<ImageLocationsTable>, 'image_id' | 'value' | 'meta_data' | 'status'>;

/** Stored time: epoch milliseconds. Throws TypeError for an invalid Date (a programming error). */
export function toDbTime(date: Date): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new TypeError('invalid Date');
  return ms;
}

/** Inverse of `toDbTime`. */
export function fromDbTime(ms: number): Date {
  return new Date(ms);
}

/** The images-table columns of `image`, for INSERT or a full UPDATE (soft-delete columns excluded). */
export function imageColumns(image: Image): Omit<Insertable<ImagesTable>, 'deleted' | 'deleted_at'> {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected ? 1 : 0,
    os_hidden: image.os_hidden ? 1 : 0,
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    owner: image.owner,
    size: image.size,
    virtual_size: image.virtual_size,
    disk_format: image.disk_format,
    container_format: image.container_format,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    created_at: toDbTime(image.created_at),
    updated_at: toDbTime(image.updated_at),
  };
}

/** One image_properties row per extra property. */
export function propertyRows(image: Image): Insertable<ImagePropertiesTable>[] {
  return Object.entries(image.properties).map(([name, value]) => ({ image_id: image.id, name, value }));
}

/** Tag rows keep the entity's order in `position`; duplicates are dropped (tags are a set). */
export function tagRows(image: Image): Insertable<ImageTagsTable>[] {
  return [...new Set(image.tags)].map((value, position) => ({ image_id: image.id, value, position }));
}

/** Location rows in the entity's order (the autoincrement id keeps it); metadata as JSON text. */
export function locationRows(image: Image): Insertable<ImageLocationsTable>[] {
  return image.locations.map((l) => ({
    image_id: image.id,
    value: l.url,
    meta_data: JSON.stringify(l.metadata),
    status: l.status,
  }));
}

/** Child rows of several images, grouped by image id (each group in query order). */
export interface ImageChildren {
  readonly properties: ReadonlyMap<string, readonly PropertyRow[]>;
  readonly tags: ReadonlyMap<string, readonly TagRow[]>;
  readonly locations: ReadonlyMap<string, readonly LocationRow[]>;
}

/** Groups child rows by `image_id`, keeping query order within each group. */
export function groupByImage<R extends { readonly image_id: string }>(rows: readonly R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const group = groups.get(row.image_id);
    if (group) group.push(row);
    else groups.set(row.image_id, [row]);
  }
  return groups;
}

/** Builds the entity from its row and its (already loaded) child rows. */
export function rowToImage(row: ImageRow, children: ImageChildren): Image {
  // fromEntries defines own properties, so a property named "__proto__" stays data.
  const properties: Record<string, string> = Object.fromEntries(
    (children.properties.get(row.id) ?? []).map((p) => [p.name, p.value]),
  );
  const locations: ImageLocation[] = (children.locations.get(row.id) ?? []).map((l) => ({
    url: l.value,
    metadata: JSON.parse(l.meta_data) as Record<string, unknown>,
    status: l.status as ImageLocation['status'],
  }));
  return {
    id: row.id,
    name: row.name,
    status: row.status as ImageStatus,
    visibility: row.visibility as Visibility,
    protected: row.protected === 1,
    os_hidden: row.os_hidden === 1,
    checksum: row.checksum,
    os_hash_algo: row.os_hash_algo,
    os_hash_value: row.os_hash_value,
    owner: row.owner,
    size: row.size,
    virtual_size: row.virtual_size,
    disk_format: row.disk_format,
    container_format: row.container_format,
    min_ram: row.min_ram,
    min_disk: row.min_disk,
    created_at: fromDbTime(row.created_at),
    updated_at: fromDbTime(row.updated_at),
    tags: (children.tags.get(row.id) ?? []).map((t) => t.value),
    properties,
    locations,
  };
}
