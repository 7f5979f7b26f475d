/**
 * `ImageRepository` over Kysely, on any engine of the dialect seam (SQLite by default;
 * PostgreSQL and MySQL/MariaDB through `opts.engine`, see sql-engine.ts).
 */
import { sql } from 'kysely';
import type { CompiledQuery, ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { DELETE_IMAGE, DELETED_LOCATION_STATUS, RESET_INTERRUPTED_UPLOAD, SCRUB_IMAGE, type AbandonedTransfers, type Image, type ImageStatus } from '../domain/image.js';
import { Conflict, Invalid, NotFound } from '../domain/errors.js';
import type { Clock, ImageRepository, ListQuery, ListScope, MemberStatus } from '../domain/ports.js';
import {
  groupByImage,
  imageColumns,
  locationRows,
  propertyRows,
  rowToImage,
  tagRows,
  toDbTime,
} from './image-rows.js';
import type { ImageChildren, ImageRow } from './image-rows.js';
import { planList, segmentQuery } from './list-query.js';
import type { Schema } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

/** The repository also exposes its list SQL, for query-plan checks (EXPLAIN on each engine). */
export interface ImageRepositoryWithListSql extends ImageRepository {
  /**
   * The SELECTs `list(query)` would run, in order (one per keyset segment; the repository
   * stops as soon as the page is full), each with the full `query.limit`. Loads and checks
   * the marker like `list` (Invalid when unknown). Empty when the scope can see nothing.
   */
  compileListQuery(query: ListQuery): Promise<readonly CompiledQuery[]>;
}

/** Child-row loads use `IN (…)` lists; stay well below SQLite's bound-parameter limit. */
const IN_CHUNK = 500;
/** Rows per multi-row INSERT (3–4 parameters each). */
const INSERT_CHUNK = 200;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function sameTags(a: Image, b: Image): boolean {
  const x = [...new Set(a.tags)];
  const y = [...new Set(b.tags)];
  return x.length === y.length && x.every((t, i) => t === y[i]);
}

function sameLocations(a: Image, b: Image): boolean {
  return JSON.stringify(locationRows(a)) === JSON.stringify(locationRows(b));
}

const systemClock: Clock = { now: () => new Date() };

/**
 * Creates the repository over an open, migrated database.
 *
 * Loads are a constant number of queries per call (the rows, then properties, tags and
 * locations for all of them at once). Writes run in one transaction each and start with
 * their write, so concurrent writers from several processes wait on the busy timeout
 * instead of failing a read-to-write lock upgrade.
 *
 * `engine` (default SQLite) is the database's side of the dialect seam (`Database.engine`).
 * Transactions the engine aborts to break a deadlock are run again (`inTransaction`).
 *
 * @example const { db, engine } = openDatabase({ url }); const images = createImageRepository(db, { engine });
 */
/**
 * The images whose transfer is abandoned (domain/image.ts AbandonedTransfers): a gone owner, an
 * ended lease, or no lease and no update for a lease's length.
 */
function abandoned(eb: ExpressionBuilder<Schema, 'images'>, which: AbandonedTransfers) {
  return eb.or([
    ...(which.owners.length > 0 ? [eb('transfer_owner', 'in', [...which.owners])] : []),
    eb('transfer_expires_at', '<', toDbTime(which.leaseEndedBy)),
    eb.and([eb('transfer_owner', 'is', null), eb('updated_at', '<', toDbTime(which.unleasedBefore))]),
  ]);
}

export function createImageRepository(
  db: Kysely<Schema>,
  opts: { readonly clock?: Clock; readonly engine?: SqlEngine } = {},
): ImageRepositoryWithListSql {
  const clock = opts.clock ?? systemClock;
  const engine = opts.engine ?? sqliteEngine;
  const transaction = <R>(work: (trx: Transaction<Schema>) => Promise<R>): Promise<R> => inTransaction(db, engine, work);

  async function loadChildren(ids: readonly string[]): Promise<ImageChildren> {
    const properties = [];
    const tags = [];
    const locations = [];
    for (const part of chunks(ids, IN_CHUNK)) {
      properties.push(
        ...(await db
          .selectFrom('image_properties')
          .select(['image_id', 'name', 'value'])
          .where('image_id', 'in', part)
          .orderBy('image_id')
          .orderBy('name')
          .execute()),
      );
      tags.push(
        ...(await db
          .selectFrom('image_tags')
          .select(['image_id', 'value'])
          .where('image_id', 'in', part)
          .orderBy('image_id')
          .orderBy('position')
          .execute()),
      );
      locations.push(
        ...(await db
          .selectFrom('image_locations')
          .select(['image_id', 'value', 'meta_data', 'status'])
          .where('image_id', 'in', part)
          .orderBy('id')
          .execute()),
      );
    }
    return {
      properties: groupByImage(properties),
      tags: groupByImage(tags),
      locations: groupByImage(locations),
    };
  }

  async function toImages(rows: readonly ImageRow[]): Promise<Image[]> {
    if (rows.length === 0) return [];
    const children = await loadChildren(rows.map((r) => r.id));
    return rows.map((row) => rowToImage(row, children));
  }

  async function insertChildren(trx: Transaction<Schema>, image: Image): Promise<void> {
    for (const part of chunks(propertyRows(image), INSERT_CHUNK)) {
      await trx.insertInto('image_properties').values(part).execute();
    }
    for (const part of chunks(tagRows(image), INSERT_CHUNK)) {
      await trx.insertInto('image_tags').values(part).execute();
    }
    for (const part of chunks(locationRows(image), INSERT_CHUNK)) {
      await trx.insertInto('image_locations').values(part).execute();
    }
  }

  /**
   * Writes only the properties that differ from `previous` (the image as the caller loaded
   * it), or without it from the stored rows: a property another writer set meanwhile with
   * `setPropertyAtomic` (the import lock) survives a save that did not touch it. A changed
   * name is deleted then inserted, which every engine spells the same way.
   */
  async function saveProperties(trx: Transaction<Schema>, image: Image, previous: Image | undefined): Promise<void> {
    let before: Record<string, string>;
    if (previous !== undefined) {
      before = previous.properties;
    } else {
      before = {};
      const rows = await trx.selectFrom('image_properties').select(['name', 'value']).where('image_id', '=', image.id).execute();
      for (const row of rows) before[row.name] = row.value;
    }
    const after = image.properties;
    const gone = Object.keys(before).filter((name) => !Object.hasOwn(after, name));
    const written = Object.keys(after).filter((name) => before[name] !== after[name]);
    for (const part of chunks([...gone, ...written], IN_CHUNK)) {
      await trx.deleteFrom('image_properties').where('image_id', '=', image.id).where('name', 'in', part).execute();
    }
    const rows = written.map((name) => ({ image_id: image.id, name, value: after[name]! }));
    for (const part of chunks(rows, INSERT_CHUNK)) await trx.insertInto('image_properties').values(part).execute();
  }

  /**
   * The marker row, if the caller could see it: Glance loads the marker with _image_get,
   * i.e. is_image_visible (admin; ownerless; public or community; own; shared with the
   * project with a membership in any status), whatever the list's filters and scope.
   * Glance answers an unknown marker with 400 and an invisible one with 403; Iris answers
   * both with Invalid so a marker cannot probe for images the caller may not see.
   */
  async function loadMarker(marker: string, scope: ListScope): Promise<ImageRow> {
    const row = await db
      .selectFrom('images')
      .selectAll()
      .where('id', '=', marker)
      // A deleted image still marks a position: Glance continues after it, so paging survives
      // the last image of a page being deleted between requests.
      .executeTakeFirst();
    const notFound = new Invalid(`No image found with ID ${marker}`);
    if (row === undefined) throw notFound;
    if (scope.isAdmin || row.owner === null) return row;
    if (row.visibility === 'public' || row.visibility === 'community') return row;
    if (scope.project === null) throw notFound;
    if (row.owner === scope.project) return row;
    if (row.visibility === 'shared' && (await memberStatus(row.id, scope.project)) !== null) return row;
    throw notFound;
  }

  async function memberStatus(imageId: string, member: string): Promise<MemberStatus | null> {
    const row = await db
      .selectFrom('image_members')
      .select('status')
      .where('image_id', '=', imageId)
      .where('member', '=', member)
      // Literal so SQLite can use the partial unique index on live memberships.
      .where('deleted', '=', sql.lit(0))
      .executeTakeFirst();
    return (row?.status as MemberStatus | undefined) ?? null;
  }

  /** Why a compare-and-swap on the image's status updated nothing: NotFound or Conflict. */
  async function casFailure(trx: Transaction<Schema>, image: Image, fromStatus: ImageStatus): Promise<Error> {
    const current = await trx.selectFrom('images').select('status').where('id', '=', image.id).where('deleted', '=', 0).executeTakeFirst();
    if (current === undefined) return new NotFound(`No image found with ID ${image.id}`);
    return new Conflict(`cannot transition from ${current.status} to ${image.status} in update (wanted from_state=${fromStatus})`);
  }

  return {
    async get(id, getOpts) {
      const row = await db
        .selectFrom('images')
        .selectAll()
        .where('id', '=', id)
        .$if(getOpts?.includeDeleted !== true, (qb) => qb.where('deleted', '=', 0))
        .executeTakeFirst();
      if (row === undefined) return null;
      return rowToImage(row, await loadChildren([row.id]));
    },

    async list(query) {
      if (query.limit <= 0) return [];
      const marker = query.marker === undefined ? undefined : await loadMarker(query.marker, query.scope);
      const plan = planList(query, marker);
      if (plan.arms.length === 0) return [];
      const rows: ImageRow[] = [];
      // Segments are consecutive ranges of the sort order: fill the page from each in turn.
      for (const segment of plan.segments) {
        const remaining = query.limit - rows.length;
        if (remaining <= 0) break;
        rows.push(...(await segmentQuery(db, engine, plan, segment, remaining).execute()));
      }
      return toImages(rows);
    },

    async compileListQuery(query) {
      const marker = query.marker === undefined ? undefined : await loadMarker(query.marker, query.scope);
      const plan = planList(query, marker);
      if (plan.arms.length === 0) return [];
      return plan.segments.map((segment) => segmentQuery(db, engine, plan, segment, query.limit).compile());
    },

    async add(image) {
      await transaction(async (trx) => {
        try {
          await trx.insertInto('images').values(imageColumns(image)).execute();
        } catch (err) {
          // Glance answers 409 for a reused id, soft-deleted rows included: ids are never recycled.
          if (err instanceof UniqueViolation) throw new Conflict(`Image ID ${image.id} already exists!`, { cause: err });
          throw err;
        }
        await insertChildren(trx, image);
      });
    },

    async save(image, saveOpts) {
      const fromStatus: ImageStatus = saveOpts?.fromStatus ?? image.status;
      const { id: _id, ...imageFields } = imageColumns(image);
      // A status change ends any transfer lease, or starts the one given (a transfer beginning).
      const lease = saveOpts?.lease;
      const columns =
        fromStatus === image.status
          ? imageFields
          : { ...imageFields, transfer_owner: lease?.owner ?? null, transfer_expires_at: lease ? toDbTime(lease.expires_at) : null };
      await transaction(async (trx) => {
        // Compare-and-swap on status, as Glance's _image_update(from_state=…).
        const result = await trx
          .updateTable('images')
          .set(columns)
          .where('id', '=', image.id)
          .where('status', '=', fromStatus)
          .where('deleted', '=', 0)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw await casFailure(trx, image, fromStatus);
        await saveProperties(trx, image, saveOpts?.previous);
        // Tags and locations have no atomic writers: rewritten whole, and only when they changed.
        if (saveOpts?.previous === undefined || !sameTags(saveOpts.previous, image)) {
          await trx.deleteFrom('image_tags').where('image_id', '=', image.id).execute();
          for (const part of chunks(tagRows(image), INSERT_CHUNK)) await trx.insertInto('image_tags').values(part).execute();
        }
        if (saveOpts?.previous === undefined || !sameLocations(saveOpts.previous, image)) {
          await trx.deleteFrom('image_locations').where('image_id', '=', image.id).execute();
          for (const part of chunks(locationRows(image), INSERT_CHUNK)) await trx.insertInto('image_locations').values(part).execute();
        }
      });
    },

    async remove(id) {
      const now = toDbTime(clock.now());
      await transaction(async (trx) => {
        const result = await trx
          .updateTable('images')
          .set({ deleted: 1, deleted_at: now, updated_at: now, status: DELETE_IMAGE.to })
          .where('id', '=', id)
          .where('deleted', '=', 0)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw new NotFound(`No image found with ID ${id}`);
        await trx.deleteFrom('image_properties').where('image_id', '=', id).execute();
        await trx.deleteFrom('image_tags').where('image_id', '=', id).execute();
        // Locations and memberships are kept, marked deleted, as Glance's image_destroy does:
        // the location rows say which data a clean-up may still have to remove.
        await trx.updateTable('image_locations').set({ status: DELETED_LOCATION_STATUS }).where('image_id', '=', id).execute();
        await trx
          .updateTable('image_members')
          .set({ deleted: 1, deleted_at: now, updated_at: now })
          .where('image_id', '=', id)
          .where('deleted', '=', 0)
          .execute();
      });
    },

    async markPendingDelete(image, markOpts) {
      const { id: _id, ...columns } = imageColumns(image);
      await transaction(async (trx) => {
        // Hidden as a deleted image (deleted = 1, as Glance's image_destroy leaves it), but its
        // child rows stay for a restore; deleted_at is the time of the delete (scrub_time counts from it).
        const result = await trx
          .updateTable('images')
          .set({ ...columns, deleted: 1, deleted_at: toDbTime(image.updated_at) })
          .where('id', '=', image.id)
          .where('status', '=', markOpts.fromStatus)
          .where('deleted', '=', 0)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw await casFailure(trx, image, markOpts.fromStatus);
        await trx.deleteFrom('image_locations').where('image_id', '=', image.id).execute();
        for (const part of chunks(locationRows(image), INSERT_CHUNK)) await trx.insertInto('image_locations').values(part).execute();
      });
    },

    async recordDataDeleted(imageId, url) {
      await db
        .updateTable('image_locations')
        .set({ scrubbed_at: toDbTime(clock.now()) })
        .where('image_id', '=', imageId)
        .where('value', '=', url)
        .where('status', '=', DELETED_LOCATION_STATUS)
        .where('scrubbed_at', 'is', null)
        .execute();
    },

    async setPropertyAtomic(imageId, name, value) {
      await transaction(async (trx) => {
        const image = await trx.selectFrom('images').select('id').where('id', '=', imageId).where('deleted', '=', 0).executeTakeFirst();
        if (image === undefined) throw new NotFound(`No image found with ID ${imageId}`);
        try {
          await trx.insertInto('image_properties').values({ image_id: imageId, name, value }).execute();
        } catch (err) {
          if (err instanceof UniqueViolation) throw new Conflict(`Image ${imageId} already has property ${name}`, { cause: err });
          throw err;
        }
      });
    },

    async deletePropertyAtomic(imageId, name, value) {
      const result = await db
        .deleteFrom('image_properties')
        .where('image_id', '=', imageId)
        .where('name', '=', name)
        .where('value', '=', value)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async holdTransfer(id, status, lease) {
      const result = await db
        .updateTable('images')
        .set({ transfer_owner: lease?.owner ?? null, transfer_expires_at: lease ? toDbTime(lease.expires_at) : null })
        .where('id', '=', id)
        .where('status', '=', status)
        .where('deleted', '=', 0)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async transferOwners() {
      const rows = await db
        .selectFrom('images')
        .select('transfer_owner')
        .distinct()
        .where('deleted', '=', 0)
        .where('status', 'in', ['saving', 'uploading'])
        .where('transfer_owner', 'is not', null)
        .execute();
      return rows.map((r) => r.transfer_owner!).sort();
    },

    async abandonedTransfers(status, which) {
      const rows = await db
        .selectFrom('images')
        .select('id')
        .where('status', '=', status)
        .where('deleted', '=', 0)
        .where((eb) => abandoned(eb, which))
        .orderBy('id')
        .execute();
      return rows.map((r) => r.id);
    },

    async resetSaving(which) {
      const now = toDbTime(clock.now());
      const reset = { status: RESET_INTERRUPTED_UPLOAD.to, updated_at: now, transfer_owner: null, transfer_expires_at: null };
      if (engine.updateReturning) {
        const rows = await db
          .updateTable('images')
          .set(reset)
          .where('status', 'in', RESET_INTERRUPTED_UPLOAD.from)
          .where('deleted', '=', 0)
          .where((eb) => abandoned(eb, which))
          .returning('id')
          .execute();
        return rows.map((r) => r.id);
      }
      // No UPDATE … RETURNING: lock the rows, then update exactly those.
      return transaction(async (trx) => {
        const ids = (
          await trx
            .selectFrom('images')
            .select('id')
            .where('status', 'in', RESET_INTERRUPTED_UPLOAD.from)
            .where('deleted', '=', 0)
            .where((eb) => abandoned(eb, which))
            .forUpdate()
            .execute()
        ).map((r) => r.id);
        for (const part of chunks(ids, IN_CHUNK)) {
          await trx.updateTable('images').set(reset).where('id', 'in', part).execute();
        }
        return ids;
      });
    },

    async withStatus(status) {
      const rows = await db
        .selectFrom('images')
        .selectAll()
        .where('status', '=', status)
        .where('deleted', '=', 0)
        .orderBy('id')
        .execute();
      return toImages(rows);
    },

    async usedStorage(owner) {
      // Glance's _image_get_disk_usage_by_owner: size counted once per live location (a copy
      // in two stores uses twice the space), only sized images neither killed nor deleted.
      const row = await db
        .selectFrom('images')
        .innerJoin('image_locations', 'image_locations.image_id', 'images.id')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('images.size'), sql.lit(0)).as('used'))
        // Images pending delete still hold their data: Glance counts them (no deleted filter there).
        .where((eb) => eb.or([eb('images.deleted', '=', 0), eb('images.status', 'in', SCRUB_IMAGE.from)]))
        .where('images.owner', '=', owner)
        .where('images.size', '>', 0)
        .where('images.status', 'not in', ['killed', 'deleted'])
        .where('image_locations.status', '!=', 'deleted')
        .executeTakeFirstOrThrow();
      return Number(row.used);
    },

    memberStatus,
  };
}
