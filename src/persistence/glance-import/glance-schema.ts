/**
 * Kysely table types of the Glance database this importer reads: the tables of Glance's
 * SQLAlchemy models (glance/db/sqlalchemy/models.py) as alembic leaves them at
 * `wallaby_contract01`, the head from Zed to 2024.x. Only the columns the importer reads.
 *
 * Column values differ by engine and are normalised by glance-reader.ts: booleans are 0/1 on
 * SQLite and MySQL and true/false on PostgreSQL; BIGINT sizes come back as strings from pg;
 * DATETIME columns are naive UTC and are read as text on every engine.
 */

type GlanceBool = number | boolean;
type GlanceInt = number | string;
/** Naive UTC `YYYY-MM-DD HH:MM:SS[.ffffff]` (read as text, see glance-source.ts). */
type GlanceTime = string;

export interface GlanceImagesTable {
  readonly id: string;
  readonly name: string | null;
  readonly size: GlanceInt | null;
  readonly virtual_size: GlanceInt | null;
  readonly status: string;
  readonly visibility: string;
  readonly checksum: string | null;
  readonly os_hash_algo: string | null;
  readonly os_hash_value: string | null;
  readonly disk_format: string | null;
  readonly container_format: string | null;
  readonly owner: string | null;
  readonly min_disk: GlanceInt;
  readonly min_ram: GlanceInt;
  readonly protected: GlanceBool;
  readonly os_hidden: GlanceBool;
  readonly created_at: GlanceTime;
  readonly updated_at: GlanceTime | null;
  readonly deleted_at: GlanceTime | null;
  readonly deleted: GlanceBool;
}

export interface GlanceImagePropertiesTable {
  readonly id: GlanceInt;
  readonly image_id: string;
  readonly name: string;
  readonly value: string | null;
  readonly deleted: GlanceBool;
}

export interface GlanceImageTagsTable {
  readonly id: GlanceInt;
  readonly image_id: string;
  readonly value: string;
  readonly deleted: GlanceBool;
}

export interface GlanceImageLocationsTable {
  readonly id: GlanceInt;
  readonly image_id: string;
  readonly value: string;
  /** JSON object text (Glance's JSONEncodedDict), or NULL. */
  readonly meta_data: string | null;
  readonly status: string;
  readonly deleted: GlanceBool;
}

export interface GlanceImageMembersTable {
  readonly id: GlanceInt;
  readonly image_id: string;
  readonly member: string;
  readonly can_share: GlanceBool;
  readonly status: string;
  readonly created_at: GlanceTime;
  readonly updated_at: GlanceTime | null;
  readonly deleted: GlanceBool;
}

export interface GlanceTasksTable {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly owner: string;
  readonly expires_at: GlanceTime | null;
  readonly image_id: string | null;
  readonly request_id: string | null;
  readonly user_id: string | null;
  readonly created_at: GlanceTime;
  readonly updated_at: GlanceTime | null;
  readonly deleted: GlanceBool;
}

export interface GlanceTaskInfoTable {
  readonly task_id: string;
  readonly input: string | null;
  readonly result: string | null;
  readonly message: string | null;
}

export interface GlanceAlembicVersionTable {
  readonly version_num: string;
}

export interface GlanceSchema {
  readonly images: GlanceImagesTable;
  readonly image_properties: GlanceImagePropertiesTable;
  readonly image_tags: GlanceImageTagsTable;
  readonly image_locations: GlanceImageLocationsTable;
  readonly image_members: GlanceImageMembersTable;
  readonly tasks: GlanceTasksTable;
  readonly task_info: GlanceTaskInfoTable;
  readonly alembic_version: GlanceAlembicVersionTable;
}
