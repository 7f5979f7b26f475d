/**
 * `iris-manage db purge`: removes rows soft-deleted long ago, as glance-manage db purge does
 * (glance/db/sqlalchemy/api.py purge_deleted_rows). Like Glance since OSSN-0075, the images
 * rows themselves stay, so an image id can never be reused; what goes is what hangs off
 * them: the location rows of images deleted before the cut-off, soft-deleted memberships
 * and soft-deleted tasks. (Properties and tags are removed when the image is deleted.) The
 * locations of images still pending delete stay: they are what the scrubber has to delete.
 * Each table loses at most `maxRows` rows per run, oldest first, as in Glance.
 */
import type { Kysely } from 'kysely';
import { SCRUB_IMAGE } from '../domain/image.js';
import type { Schema } from './schema.js';

export interface PurgeOptions {
  /** Rows deleted before this instant go. */
  readonly deletedBefore: Date;
  /** Most rows removed per table; -1 for all. */
  readonly maxRows: number;
}

/** Rows removed per table, in the order they were purged. */
export type PurgeReport = readonly (readonly [table: string, rows: number])[];

/** Ids per DELETE: well inside every engine's bound-parameter limit. */
const CHUNK = 500;

async function deleteByIds<T extends 'image_locations' | 'image_members' | 'tasks'>(
  db: Kysely<Schema>,
  table: T,
  ids: readonly (string | number)[],
): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const result = await db
      .deleteFrom(table as 'tasks')
      .where('id', 'in', part as string[])
      .executeTakeFirst();
    removed += Number(result.numDeletedRows);
  }
  return removed;
}

/**
 * Purges; the ids are selected first and deleted in a second statement because MySQL and
 * MariaDB refuse LIMIT inside an IN subquery.
 */
export async function purgeDeletedRows(db: Kysely<Schema>, opts: PurgeOptions): Promise<PurgeReport> {
  const cutoff = opts.deletedBefore.getTime();
  const limit = <Q extends { limit(n: number): Q }>(q: Q): Q => (opts.maxRows === -1 ? q : q.limit(opts.maxRows));

  const locations = await limit(
    db
      .selectFrom('image_locations')
      .innerJoin('images', 'images.id', 'image_locations.image_id')
      .select('image_locations.id')
      .where('images.deleted', '=', 1)
      .where('images.deleted_at', '<', cutoff)
      // A pending_delete image is deleted = 1 too, but its locations are the scrubber's queue.
      .where('images.status', 'not in', SCRUB_IMAGE.from)
      .orderBy('images.deleted_at')
      .orderBy('image_locations.id'),
  ).execute();
  const members = await limit(
    db
      .selectFrom('image_members')
      .select('id')
      .where('deleted', '=', 1)
      .where('deleted_at', '<', cutoff)
      .orderBy('deleted_at')
      .orderBy('id'),
  ).execute();
  const tasks = await limit(
    db.selectFrom('tasks').select('id').where('deleted', '=', 1).where('deleted_at', '<', cutoff).orderBy('deleted_at').orderBy('id'),
  ).execute();

  return [
    ['image_locations', await deleteByIds(db, 'image_locations', locations.map((r) => r.id))],
    ['image_members', await deleteByIds(db, 'image_members', members.map((r) => r.id))],
    ['tasks', await deleteByIds(db, 'tasks', tasks.map((r) => r.id))],
  ];
}
