/**
 * CacheRecords over the cached_images and cache_queue tables (migration 005), on any engine
 * of the dialect seam.
 */
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { CacheRecord, CacheRecords } from '../cache/cache-records.js';
import type { CachedImagesTable, Schema } from './schema.js';
import { UniqueViolation } from './sql-engine.js';

function toRecord(row: Selectable<CachedImagesTable>): CacheRecord {
  return {
    imageId: row.image_id,
    size: Number(row.size),
    checksum: row.checksum,
    osHashValue: row.os_hash_value,
    crc32: row.crc32 === null ? null : Number(row.crc32),
    hits: Number(row.hits),
    lastAccessed: Number(row.last_accessed),
    lastModified: Number(row.last_modified),
  };
}

export function createCacheRecordRepository(db: Kysely<Schema>): CacheRecords {
  return {
    async listCached(node) {
      const rows = await db.selectFrom('cached_images').selectAll().where('node', '=', node).orderBy('image_id').execute();
      return rows.map(toRecord);
    },

    async getCached(node, imageId) {
      const row = await db.selectFrom('cached_images').selectAll().where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    async addCached(node, r) {
      const values = {
        size: r.size,
        checksum: r.checksum,
        os_hash_value: r.osHashValue,
        crc32: r.crc32,
        hits: r.hits,
        last_accessed: r.lastAccessed,
        last_modified: r.lastModified,
      };
      try {
        await db.insertInto('cached_images').values({ node, image_id: r.imageId, ...values }).execute();
      } catch (e) {
        // Written again (another worker process of the node, or after a lost record): replace.
        if (!(e instanceof UniqueViolation)) throw e;
        await db.updateTable('cached_images').set(values).where('node', '=', node).where('image_id', '=', r.imageId).execute();
      }
    },

    async touch(node, imageId, at) {
      await db
        .updateTable('cached_images')
        .set({ hits: sql`hits + 1`, last_accessed: at })
        .where('node', '=', node)
        .where('image_id', '=', imageId)
        .execute();
    },

    async removeCached(node, imageId) {
      const r = await db.deleteFrom('cached_images').where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async removeAllCached(node) {
      const r = await db.deleteFrom('cached_images').where('node', '=', node).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async totalSize(node) {
      const row = await db
        .selectFrom('cached_images')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), sql<number>`0`).as('total'))
        .where('node', '=', node)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async leastRecentlyUsed(node, limit) {
      const rows = await db
        .selectFrom('cached_images')
        .selectAll()
        .where('node', '=', node)
        .orderBy('last_accessed')
        .orderBy('image_id')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },

    async invalidCached(node) {
      const rows = await db
        .selectFrom('cached_images as c')
        .leftJoin('images as i', (j) => j.onRef('i.id', '=', 'c.image_id').on('i.deleted', '=', sql.lit(0)))
        .select('c.image_id')
        .where('c.node', '=', node)
        .where((eb) =>
          eb.or([
            eb('i.id', 'is', null),
            eb('i.status', '!=', 'active'),
            // An image's data can only change through its locations; its checksums say so.
            eb(eb.fn.coalesce('i.checksum', sql.lit('')), '!=', eb.fn.coalesce('c.checksum', sql.lit(''))),
            eb(eb.fn.coalesce('i.os_hash_value', sql.lit('')), '!=', eb.fn.coalesce('c.os_hash_value', sql.lit(''))),
          ]),
        )
        .orderBy('c.image_id')
        .execute();
      return rows.map((r) => r.image_id);
    },

    async queue(node, imageId, at) {
      try {
        await db.insertInto('cache_queue').values({ node, image_id: imageId, queued_at: at }).execute();
        return true;
      } catch (e) {
        if (e instanceof UniqueViolation) return false;
        throw e;
      }
    },

    async listQueued(node) {
      const rows = await db.selectFrom('cache_queue').select('image_id').where('node', '=', node).orderBy('queued_at').orderBy('image_id').execute();
      return rows.map((r) => r.image_id);
    },

    async dequeue(node, imageId) {
      const r = await db.deleteFrom('cache_queue').where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async clearQueue(node) {
      const r = await db.deleteFrom('cache_queue').where('node', '=', node).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
