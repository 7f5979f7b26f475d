/**
 * Kysely table types: the shape of the database as `migrations/` leaves it.
 *
 * Times are integer milliseconds since the Unix epoch (UTC). JavaScript dates carry
 * milliseconds, integers compare and index exactly, and keyset pagination on
 * `(created_at, id)` needs a total order without any text-format pitfalls.
 * Booleans are integers 0/1 (SQLite has no boolean type).
 */
import type { ColumnType, Generated } from 'kysely';

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface ImagesTable {
  readonly id: string;
  readonly name: string | null;
  readonly status: string;
  readonly visibility: string;
  readonly protected: Defaulted<number>;
  readonly os_hidden: Defaulted<number>;
  readonly checksum: string | null;
  readonly os_hash_algo: string | null;
  readonly os_hash_value: string | null;
  readonly owner: string | null;
  readonly size: number | null;
  readonly virtual_size: number | null;
  readonly disk_format: string | null;
  readonly container_format: string | null;
  readonly min_ram: Defaulted<number>;
  readonly min_disk: Defaulted<number>;
  readonly created_at: number;
  readonly updated_at: number;
  readonly deleted_at: number | null;
  readonly deleted: Defaulted<number>;
  /** The process moving the image's data (saving, uploading), `<node>-<pid>` (migration 008). */
  readonly transfer_owner: Defaulted<string | null>;
  readonly transfer_expires_at: Defaulted<number | null>;
}

export interface ImagePropertiesTable {
  readonly image_id: string;
  readonly name: string;
  readonly value: string;
}

export interface ImageTagsTable {
  readonly image_id: string;
  readonly value: string;
  /** Insertion order, so tags come back in the order they were set. */
  readonly position: number;
}

export interface ImageLocationsTable {
  readonly id: Generated<number>;
  readonly image_id: string;
  /** The store URL (Glance calls the column `value`). */
  readonly value: string;
  /** JSON object text. */
  readonly meta_data: Defaulted<string>;
  readonly status: Defaulted<string>;
  /** The scrubber process deleting this location's data now, or NULL (migration 006). */
  readonly scrub_owner: Defaulted<string | null>;
  /** When that claim runs out. */
  readonly scrub_until: Defaulted<number | null>;
  /** When the data was found deleted; NULL while a deleted location may still have bytes. */
  readonly scrubbed_at: Defaulted<number | null>;
}

export interface ImageMembersTable {
  readonly id: Generated<number>;
  readonly image_id: string;
  readonly member: string;
  readonly can_share: Defaulted<number>;
  readonly status: Defaulted<string>;
  readonly created_at: number;
  readonly updated_at: number;
  readonly deleted_at: number | null;
  readonly deleted: Defaulted<number>;
}

/** Glance's tasks with its task_info folded in (see migrations/002-tasks.ts). */
export interface TasksTable {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly owner: string;
  readonly expires_at: number | null;
  readonly image_id: string | null;
  readonly request_id: string | null;
  readonly user_id: string | null;
  /** JSON object text, or NULL. */
  readonly input: string | null;
  /** JSON object text, or NULL. */
  readonly result: string | null;
  readonly message: Defaulted<string>;
  readonly created_at: number;
  readonly updated_at: number;
  readonly deleted_at: number | null;
  readonly deleted: Defaulted<number>;
  /** Owning process of a running task (`<node>-<pid>`), NULL when none (migration 003). */
  readonly lease_owner: Defaulted<string | null>;
  readonly lease_expires_at: Defaulted<number | null>;
}

/** The metadata definitions catalog (migrations/004-metadefs.ts). */
export interface MetadefNamespacesTable {
  readonly id: Generated<number>;
  readonly namespace: string;
  readonly display_name: string | null;
  readonly description: string | null;
  /** NULL for a definition loaded without one (shown as `private`). */
  readonly visibility: string | null;
  readonly protected: Defaulted<number>;
  readonly owner: string;
  readonly created_at: number;
  readonly updated_at: number | null;
}

export interface MetadefResourceTypesTable {
  readonly id: Generated<number>;
  readonly name: string;
  /** 1 for the types load_metadefs seeded (Glance's "seeded-system" types). */
  readonly protected: Defaulted<number>;
  readonly created_at: number;
  readonly updated_at: number | null;
}

export interface MetadefNamespaceResourceTypesTable {
  readonly resource_type_id: number;
  readonly namespace_id: number;
  readonly properties_target: string | null;
  readonly prefix: string | null;
  readonly created_at: number;
  readonly updated_at: number | null;
}

export interface MetadefObjectsTable {
  readonly id: Generated<number>;
  readonly namespace_id: number;
  readonly name: string;
  readonly description: string | null;
  /** Comma-joined property names, NULL for none (Glance's format). */
  readonly required: string | null;
  /** JSON object text: property name → definition. */
  readonly json_schema: string;
  readonly created_at: number;
  readonly updated_at: number | null;
}

export interface MetadefPropertiesTable {
  readonly id: Generated<number>;
  readonly namespace_id: number;
  readonly name: string;
  /** JSON object text: the property definition. */
  readonly json_schema: string;
  readonly created_at: number;
  readonly updated_at: number | null;
}

export interface MetadefTagsTable {
  readonly id: Generated<number>;
  readonly namespace_id: number;
  readonly name: string;
  readonly created_at: number;
  readonly updated_at: number | null;
}

/** The image cache's records, per node (migration 005). */
export interface CachedImagesTable {
  readonly node: string;
  readonly image_id: string;
  readonly size: number;
  readonly checksum: string | null;
  readonly os_hash_value: string | null;
  readonly crc32: number | null;
  readonly hits: Defaulted<number>;
  readonly last_accessed: number;
  readonly last_modified: number;
}

/** Images queued for a node's cache prefetcher (migration 005). */
export interface CacheQueueTable {
  readonly node: string;
  readonly image_id: string;
  readonly queued_at: number;
}

export interface Schema {
  readonly images: ImagesTable;
  readonly image_properties: ImagePropertiesTable;
  readonly image_tags: ImageTagsTable;
  readonly image_locations: ImageLocationsTable;
  readonly image_members: ImageMembersTable;
  readonly tasks: TasksTable;
  readonly metadef_namespaces: MetadefNamespacesTable;
  readonly metadef_resource_types: MetadefResourceTypesTable;
  readonly metadef_namespace_resource_types: MetadefNamespaceResourceTypesTable;
  readonly metadef_objects: MetadefObjectsTable;
  readonly metadef_properties: MetadefPropertiesTable;
  readonly metadef_tags: MetadefTagsTable;
  readonly cached_images: CachedImagesTable;
  readonly cache_queue: CacheQueueTable;
}
