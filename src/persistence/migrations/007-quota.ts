/**
 * 007-quota: byte reservations of running uploads, so that concurrent uploads cannot together
 * pass a project's storage quota (Glance checks each upload alone, before and after).
 *
 * - `quota_locks`: one row per project (owner key), updated first in every reservation
 *   transaction. The write takes the row lock on PostgreSQL and MariaDB and the database write
 *   lock on SQLite, so the usage read after it and the reservation written with it cannot
 *   interleave with another reservation of the same project.
 * - `quota_reservations`: bytes an upload holds while it runs; `holder` is the process
 *   (`<node>-<pid>`), `expires_at` (epoch ms) is renewed while bytes flow, so the hold of a
 *   dead process stops counting once it has passed.
 * - `ix_images_owner_status`: the usage counters filter by owner and status only (Glance counts
 *   images by status, whatever their soft-delete flag).
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration007Quota = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, bigint, integer } = engine.types;
    await engine
      .tableOptions(
        db.schema
          .createTable('quota_locks')
          .addColumn('owner', string(255), (c) => c.primaryKey())
          .addColumn('version', integer, (c) => c.notNull().defaultTo(0)),
        { withoutRowid: true },
      )
      .execute();
    await engine
      .tableOptions(
        db.schema
          .createTable('quota_reservations')
          .addColumn('id', string(36), (c) => c.primaryKey())
          .addColumn('owner', string(255), (c) => c.notNull())
          .addColumn('image_id', string(36), (c) => c.notNull())
          .addColumn('bytes', bigint, (c) => c.notNull())
          .addColumn('holder', string(255), (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('expires_at', bigint, (c) => c.notNull()),
        { withoutRowid: true },
      )
      .execute();
    await db.schema.createIndex('ix_quota_reservations_owner').on('quota_reservations').columns(['owner', 'expires_at']).execute();
    await db.schema.createIndex('ix_quota_reservations_holder').on('quota_reservations').column('holder').execute();
    await db.schema.createIndex('ix_images_owner_status').on('images').columns(['owner', 'status']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropIndex('ix_images_owner_status').on('images').execute();
    await db.schema.dropTable('quota_reservations').execute();
    await db.schema.dropTable('quota_locks').execute();
  },
});
