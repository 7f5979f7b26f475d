/**
 * `ScrubQueue` over Kysely, on any engine of the dialect seam: the delayed-delete queue of
 * Glance's scrubber (its ScrubDBQueue reads pending_delete images and their pending_delete
 * locations), plus per-location claims (migration 006) so several scrubbers share it.
 *
 * Every state change is one UPDATE whose WHERE repeats the state it expects, so two scrubbers
 * racing for a location, or a restore racing a scrubber, find exactly one winner on every
 * engine (the row lock of the UPDATE decides; PostgreSQL and InnoDB re-check the WHERE on the
 * row as committed).
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { Conflict, NotFound } from '../domain/errors.js';
import {
  ACTIVE_LOCATION_STATUS,
  DELETED_LOCATION_STATUS,
  PENDING_DELETE_LOCATION_STATUS,
  RESTORE_IMAGE,
  SCRUB_IMAGE,
} from '../domain/image.js';
import type { ScrubClaimer, ScrubJob, ScrubQueue } from '../domain/ports.js';
import { toDbTime } from './image-rows.js';
import type { Schema } from './schema.js';
import { inTransaction } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

type LocationsEb = ExpressionBuilder<Schema, 'image_locations'>;

/** Nobody else holds a live claim on the location: none, run out, or a dead owner's. */
function claimable(eb: LocationsEb, claimer: ScrubClaimer) {
  const dead = claimer.deadOwners ?? [];
  return eb.or([
    eb('image_locations.scrub_owner', 'is', null),
    eb('image_locations.scrub_until', '<=', toDbTime(claimer.now)),
    ...(dead.length > 0 ? [eb('image_locations.scrub_owner', 'in', [...dead])] : []),
  ]);
}

function storeOf(metaData: string): string | null {
  const store = (JSON.parse(metaData) as Record<string, unknown>).store;
  return typeof store === 'string' && store !== '' ? store : null;
}

/** The location status a job of this kind expects (what its claim compares with). */
function statusOf(job: ScrubJob): string {
  return job.kind === 'pending_delete' ? PENDING_DELETE_LOCATION_STATUS : DELETED_LOCATION_STATUS;
}

/** An image none of whose locations is still waiting for the scrubber. */
function noLocationPendingDelete({ not, exists, selectFrom }: ExpressionBuilder<Schema, 'images'>) {
  return not(
    exists(
      selectFrom('image_locations')
        .select('image_locations.id')
        .whereRef('image_locations.image_id', '=', 'images.id')
        .where('image_locations.status', '=', PENDING_DELETE_LOCATION_STATUS),
    ),
  );
}

/**
 * @example const queue = createScrubQueue(db, { engine }); const jobs = await queue.due({ scrubBefore, orphans: true, limit: 1000 }, me);
 */
export function createScrubQueue(db: Kysely<Schema>, opts: { readonly engine?: SqlEngine } = {}): ScrubQueue {
  const engine = opts.engine ?? sqliteEngine;

  return {
    async due(which, claimer) {
      const rows = await db
        .selectFrom('image_locations')
        .innerJoin('images', 'images.id', 'image_locations.image_id')
        .select(['image_locations.id', 'image_locations.image_id', 'image_locations.value', 'image_locations.meta_data', 'image_locations.status'])
        .where('image_locations.scrubbed_at', 'is', null)
        .$if(which.afterLocationId !== undefined, (qb) => qb.where('image_locations.id', '>', which.afterLocationId!))
        .where((eb) =>
          eb.or([
            eb.and([
              eb('image_locations.status', '=', PENDING_DELETE_LOCATION_STATUS),
              eb('images.status', 'in', SCRUB_IMAGE.from),
              eb('images.deleted_at', '<=', toDbTime(which.scrubBefore)),
            ]),
            // Orphans: data of an image deleted at once that may have stayed behind.
            ...(which.orphans
              ? [eb.and([eb('image_locations.status', '=', DELETED_LOCATION_STATUS), eb('images.deleted', '=', 1)])]
              : []),
          ]),
        )
        .where((eb) => claimable(eb as unknown as LocationsEb, claimer))
        .orderBy('image_locations.id')
        .limit(which.limit)
        .execute();
      return rows.map((r) => ({
        locationId: Number(r.id),
        imageId: r.image_id,
        url: r.value,
        store: storeOf(r.meta_data),
        kind: r.status === PENDING_DELETE_LOCATION_STATUS ? 'pending_delete' : 'orphan',
      }));
    },

    async claim(job, until, claimer) {
      const result = await db
        .updateTable('image_locations')
        .set({ scrub_owner: claimer.owner, scrub_until: toDbTime(until) })
        .where('id', '=', job.locationId)
        .where('status', '=', statusOf(job))
        .where('scrubbed_at', 'is', null)
        .where((eb) => claimable(eb, claimer))
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async finish(job, claimer) {
      const result = await db
        .updateTable('image_locations')
        .set({ status: DELETED_LOCATION_STATUS, scrubbed_at: toDbTime(claimer.now), scrub_owner: null, scrub_until: null })
        .where('id', '=', job.locationId)
        .where('scrub_owner', '=', claimer.owner)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async release(job, claimer) {
      await db
        .updateTable('image_locations')
        .set({ scrub_owner: null, scrub_until: null })
        .where('id', '=', job.locationId)
        .where('scrub_owner', '=', claimer.owner)
        .execute();
    },

    async completeScrubbed(now) {
      const at = toDbTime(now);
      const candidates = await db
        .selectFrom('images')
        .select('id')
        .where('status', 'in', SCRUB_IMAGE.from)
        .where(noLocationPendingDelete)
        .orderBy('id')
        .execute();
      const done: string[] = [];
      for (const { id } of candidates) {
        const completed = await inTransaction(db, engine, async (trx) => {
          // Again with the condition: a restore may have won the image meanwhile.
          const result = await trx
            .updateTable('images')
            .set({ status: SCRUB_IMAGE.to, updated_at: at })
            .where('id', '=', id)
            .where('status', 'in', SCRUB_IMAGE.from)
            .where(noLocationPendingDelete)
            .executeTakeFirst();
          if (result.numUpdatedRows === 0n) return false;
          // What an immediate delete removes (image-repository.ts remove): kept until now for a restore.
          await trx.deleteFrom('image_properties').where('image_id', '=', id).execute();
          await trx.deleteFrom('image_tags').where('image_id', '=', id).execute();
          await trx
            .updateTable('image_members')
            .set({ deleted: 1, deleted_at: at, updated_at: at })
            .where('image_id', '=', id)
            .where('deleted', '=', 0)
            .execute();
          return true;
        });
        if (completed) done.push(id);
      }
      return done;
    },

    async restore(imageId, now) {
      const at = toDbTime(now);
      await inTransaction(db, engine, async (trx) => {
        const row = await trx.selectFrom('images').select('status').where('id', '=', imageId).executeTakeFirst();
        if (row === undefined) throw new NotFound(`No image found with ID ${imageId}`);
        const wrongStatus = (status: string) =>
          new Conflict(`cannot restore the image from ${status} to active (wanted from_state=pending_delete)`);
        if (!(RESTORE_IMAGE.from as readonly string[]).includes(row.status)) throw wrongStatus(row.status);
        const result = await trx
          .updateTable('images')
          .set({ status: RESTORE_IMAGE.to, deleted: 0, deleted_at: null, updated_at: at })
          .where('id', '=', imageId)
          .where('status', 'in', RESTORE_IMAGE.from)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) {
          const current = await trx.selectFrom('images').select('status').where('id', '=', imageId).executeTakeFirst();
          throw wrongStatus(current?.status ?? 'deleted');
        }
        // Locations a scrubber has claimed may already have lost their data: those stay
        // pending_delete, which refuses the restore below (and rolls all of it back).
        await trx
          .updateTable('image_locations')
          .set({ status: ACTIVE_LOCATION_STATUS })
          .where('image_id', '=', imageId)
          .where('status', '=', PENDING_DELETE_LOCATION_STATUS)
          .where('scrub_owner', 'is', null)
          .execute();
        const statuses = await trx.selectFrom('image_locations').select('status').where('image_id', '=', imageId).execute();
        if (statuses.some((l) => l.status === PENDING_DELETE_LOCATION_STATUS)) {
          throw new Conflict(`cannot restore image ${imageId}: a scrubber has begun deleting its data`);
        }
        if (!statuses.some((l) => l.status === ACTIVE_LOCATION_STATUS)) {
          throw new Conflict(`cannot restore image ${imageId}: its data has been deleted`);
        }
        // Locations scrubbed already (another store's copy) are gone for good.
        await trx.deleteFrom('image_locations').where('image_id', '=', imageId).where('status', '=', DELETED_LOCATION_STATUS).execute();
      });
    },

    async claimOwners() {
      const rows = await db
        .selectFrom('image_locations')
        .select('scrub_owner')
        .distinct()
        .where('scrub_owner', 'is not', null)
        .orderBy('scrub_owner')
        .execute();
      return rows.map((r) => r.scrub_owner!);
    },
  };
}
