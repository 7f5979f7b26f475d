/**
 * 001-initial: images and their child tables.
 *
 * Mirrors Glance's images / image_properties / image_tags / image_locations / image_members
 * tables where that helps operators, with three deliberate differences:
 * - times are integer epoch milliseconds (see schema.ts);
 * - properties and tags are hard-deleted when replaced (Glance soft-deletes child rows,
 *   which only makes every read filter on `deleted`);
 * - tables are STRICT, so a column's declared type is enforced and `IS NOT NULL` range
 *   scans cover exactly the typed values.
 *
 * A migration is a frozen snapshot: it must not import anything from the domain, whose
 * lists (statuses, visibilities) may evolve after it has run.
 */
import { sql } from 'kysely';
import type { Kysely, Migration, SqlBool } from 'kysely';

const strict = sql`strict`;
const strictWithoutRowid = sql`strict, without rowid`;

export const migration001Initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('images')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('name', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('visibility', 'text', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0).check(sql`protected in (0, 1)`))
      .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0).check(sql`os_hidden in (0, 1)`))
      .addColumn('checksum', 'text')
      .addColumn('os_hash_algo', 'text')
      .addColumn('os_hash_value', 'text')
      .addColumn('owner', 'text')
      .addColumn('size', 'integer')
      .addColumn('virtual_size', 'integer')
      .addColumn('disk_format', 'text')
      .addColumn('container_format', 'text')
      .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .addColumn('deleted_at', 'integer')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0).check(sql`deleted in (0, 1)`))
      .modifyEnd(strict)
      .execute();

    // List indexes. Every list query constrains `deleted = 0` and `os_hidden = <bool>` (Glance
    // hides os_hidden images unless asked), so both lead every index as equality columns,
    // followed by the sort columns with the (created_at, id) tie-breakers Glance appends.
    // The repository splits a project's list into one arm per access path (public images,
    // own images, images shared with the project), each served in sort order by the
    // visibility or owner index and merged by SQLite without a temporary B-tree; admins
    // walk the plain created_at / name indexes.
    const listIndexes: readonly [string, readonly string[]][] = [
      ['ix_images_list_created', ['deleted', 'os_hidden', 'created_at', 'id']],
      ['ix_images_list_name', ['deleted', 'os_hidden', 'name', 'created_at', 'id']],
      ['ix_images_visibility_created', ['deleted', 'os_hidden', 'visibility', 'created_at', 'id']],
      ['ix_images_visibility_name', ['deleted', 'os_hidden', 'visibility', 'name', 'created_at', 'id']],
      // owner before os_hidden so the (deleted, owner) prefix also serves storage usage.
      ['ix_images_owner_created', ['deleted', 'owner', 'os_hidden', 'created_at', 'id']],
      ['ix_images_owner_name', ['deleted', 'owner', 'os_hidden', 'name', 'created_at', 'id']],
    ];
    for (const [name, columns] of listIndexes) {
      await db.schema.createIndex(name).on('images').columns([...columns]).execute();
    }

    await db.schema
      .createTable('image_properties')
      .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_image_properties', ['image_id', 'name'])
      .modifyEnd(strictWithoutRowid)
      .execute();

    await db.schema
      .createTable('image_tags')
      .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_image_tags', ['image_id', 'value'])
      .modifyEnd(strictWithoutRowid)
      .execute();

    await db.schema
      .createTable('image_locations')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('meta_data', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .modifyEnd(strict)
      .execute();
    await db.schema.createIndex('ix_image_locations_image_id').on('image_locations').column('image_id').execute();

    await db.schema
      .createTable('image_members')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
      .addColumn('member', 'text', (c) => c.notNull())
      .addColumn('can_share', 'integer', (c) => c.notNull().defaultTo(0).check(sql`can_share in (0, 1)`))
      .addColumn('status', 'text', (c) =>
        c.notNull().defaultTo('pending').check(sql`status in ('pending', 'accepted', 'rejected')`),
      )
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .addColumn('deleted_at', 'integer')
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0).check(sql`deleted in (0, 1)`))
      .modifyEnd(strict)
      .execute();
    // One live membership per (image, member); soft-deleted rows may repeat (Glance keys its
    // constraint on deleted_at for the same reason). SQLite only uses a partial index when
    // the query spells `deleted = 0` literally, not as a bound parameter.
    await db.schema
      .createIndex('ux_image_members_image_member')
      .unique()
      .on('image_members')
      .columns(['image_id', 'member'])
      .where(sql<SqlBool>`deleted = 0`)
      .execute();
    await db.schema.createIndex('ix_image_members_member').on('image_members').columns(['member', 'status']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['image_members', 'image_locations', 'image_tags', 'image_properties', 'images']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
