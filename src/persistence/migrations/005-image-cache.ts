/**
 * 005-image-cache: the image cache's records, in the shared database (Glance's
 * `centralized_db` cache driver), one set per node.
 *
 * `node` is the node's identity (its worker_self_reference_url); each node's files live in its
 * own directory, so a record only ever describes a file on the node it names.
 * `cached_images`: one row per complete, verified cache file. `checksum` and `os_hash_value`
 * are the image's at the time the file was written: a later change of the image's data makes
 * them differ, and the entry is then dropped instead of served. `crc32` (of the file) is what a
 * read from the cache re-checks, cheaply, in the same pass. `last_accessed` (LRU order)
 * and `last_modified` are epoch milliseconds, as every time in the schema.
 * `cache_queue`: images queued for this node's prefetcher, oldest first.
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration005ImageCache = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, integer, bigint } = engine.types;
    await engine
      .tableOptions(
        db.schema
          .createTable('cached_images')
          .addColumn('node', string(255), (c) => c.notNull())
          .addColumn('image_id', string(36), (c) => c.notNull())
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('checksum', string(32))
          .addColumn('os_hash_value', string(128))
          // CRC-32 of the file as written: what every whole read from the cache is checked against.
          .addColumn('crc32', bigint)
          .addColumn('hits', integer, (c) => c.notNull().defaultTo(0))
          .addColumn('last_accessed', bigint, (c) => c.notNull())
          .addColumn('last_modified', bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_cached_images', ['node', 'image_id']),
        {},
      )
      .execute();
    // The pruner walks a node's entries least recently used first.
    await db.schema.createIndex('ix_cached_images_lru').on('cached_images').columns(['node', 'last_accessed']).execute();

    await engine
      .tableOptions(
        db.schema
          .createTable('cache_queue')
          .addColumn('node', string(255), (c) => c.notNull())
          .addColumn('image_id', string(36), (c) => c.notNull())
          .addColumn('queued_at', bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_cache_queue', ['node', 'image_id']),
        {},
      )
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('cache_queue').execute();
    await db.schema.dropTable('cached_images').execute();
  },
});
