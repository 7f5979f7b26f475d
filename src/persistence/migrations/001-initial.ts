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
 * On PostgreSQL and MySQL/MariaDB the same definition runs through the engine's column types
 * (sql-engine.ts): sizes and times bigint, indexed text varchar on MySQL, utf8mb4 InnoDB
 * tables there. On SQLite the DDL is exactly what this migration always produced, so data
 * dirs created before the other engines existed keep their schema.
 *
 * A migration is a frozen snapshot: it must not import anything from the domain, whose
 * lists (statuses, visibilities) may evolve after it has run.
 */
import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

/** Glance's column lengths (String(n)) where Iris indexes or bounds the text. */
const ID = 36;
const NAME = 255;

export const migration001Initial = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, text, integer, bigint } = engine.types;
    await engine
      .tableOptions(
        db.schema
          .createTable('images')
          .addColumn('id', string(ID), (c) => c.primaryKey().notNull())
          .addColumn('name', string(NAME))
          .addColumn('status', string(30), (c) => c.notNull())
          .addColumn('visibility', string(20), (c) => c.notNull())
          .addColumn('protected', integer, (c) => c.notNull().defaultTo(0).check(sql`protected in (0, 1)`))
          .addColumn('os_hidden', integer, (c) => c.notNull().defaultTo(0).check(sql`os_hidden in (0, 1)`))
          .addColumn('checksum', string(32))
          .addColumn('os_hash_algo', string(64))
          .addColumn('os_hash_value', string(128))
          .addColumn('owner', string(NAME))
          .addColumn('size', bigint)
          .addColumn('virtual_size', bigint)
          .addColumn('disk_format', string(64))
          .addColumn('container_format', string(64))
          .addColumn('min_ram', integer, (c) => c.notNull().defaultTo(0))
          .addColumn('min_disk', integer, (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addColumn('deleted_at', bigint)
          .addColumn('deleted', integer, (c) => c.notNull().defaultTo(0).check(sql`deleted in (0, 1)`)),
        {},
      )
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
      // `name` is the one nullable sort key these indexes carry.
      await engine.createSortIndex(db, name, 'images', columns, ['name']);
    }

    await engine
      .tableOptions(
        db.schema
          .createTable('image_properties')
          .addColumn('image_id', string(ID), (c) => c.notNull().references('images.id').onDelete('cascade'))
          .addColumn('name', string(NAME), (c) => c.notNull())
          .addColumn('value', text, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_image_properties', ['image_id', 'name']),
        { withoutRowid: true },
      )
      .execute();

    await engine
      .tableOptions(
        db.schema
          .createTable('image_tags')
          .addColumn('image_id', string(ID), (c) => c.notNull().references('images.id').onDelete('cascade'))
          .addColumn('value', string(NAME), (c) => c.notNull())
          .addColumn('position', integer, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_image_tags', ['image_id', 'value']),
        { withoutRowid: true },
      )
      .execute();

    await engine
      .tableOptions(
        engine
          .autoIncrementId(db.schema.createTable('image_locations'))
          .addColumn('image_id', string(ID), (c) => c.notNull().references('images.id').onDelete('cascade'))
          .addColumn('value', text, (c) => c.notNull())
          .addColumn('meta_data', text, (c) => c.notNull().defaultTo('{}'))
          .addColumn('status', string(30), (c) => c.notNull().defaultTo('active')),
        {},
      )
      .execute();
    await db.schema.createIndex('ix_image_locations_image_id').on('image_locations').column('image_id').execute();

    await engine
      .tableOptions(
        engine
          .autoIncrementId(db.schema.createTable('image_members'))
          .addColumn('image_id', string(ID), (c) => c.notNull().references('images.id').onDelete('cascade'))
          .addColumn('member', string(NAME), (c) => c.notNull())
          .addColumn('can_share', integer, (c) => c.notNull().defaultTo(0).check(sql`can_share in (0, 1)`))
          .addColumn('status', string(20), (c) =>
            c.notNull().defaultTo('pending').check(sql`status in ('pending', 'accepted', 'rejected')`),
          )
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addColumn('deleted_at', bigint)
          .addColumn('deleted', integer, (c) => c.notNull().defaultTo(0).check(sql`deleted in (0, 1)`)),
        {},
      )
      .execute();
    // One live membership per (image, member); soft-deleted rows may repeat (Glance keys its
    // constraint on deleted_at for the same reason). On SQLite a partial index, which it only
    // uses when the query spells `deleted = 0` literally, not as a bound parameter.
    await engine.createLiveUniqueIndex(db, 'ux_image_members_image_member', 'image_members', ['image_id', 'member']);
    await db.schema.createIndex('ix_image_members_member').on('image_members').columns(['member', 'status']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['image_members', 'image_locations', 'image_tags', 'image_properties', 'images']) {
      await db.schema.dropTable(table).execute();
    }
  },
});
