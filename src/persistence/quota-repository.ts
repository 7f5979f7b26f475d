/**
 * `QuotaRepository` over Kysely (tables of migrations/007-quota.ts), on any engine of the
 * dialect seam: Glance's usage counters and the byte reservations that make concurrent uploads
 * race-free.
 *
 * A reservation transaction starts by bumping the owner's row in `quota_locks`. That first
 * write serialises every reservation of one owner on all engines (row lock on PostgreSQL and
 * MariaDB, the database write lock on SQLite), and because it comes before any read, the usage
 * and reservations read after it include everything committed by the transaction it waited for
 * (READ COMMITTED takes a snapshot per statement; InnoDB's REPEATABLE READ takes its snapshot at
 * the first plain read, which comes after the lock).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { OwnerUsage, QuotaRepository, ReserveOutcome, ReserveRequest } from '../domain/quota.js';
import { toDbTime } from './image-rows.js';
import type { Schema } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

interface QuotaLocksTable {
  readonly owner: string;
  readonly version: number;
}

interface QuotaReservationsTable {
  readonly id: string;
  readonly owner: string;
  readonly image_id: string;
  readonly bytes: number;
  readonly holder: string;
  readonly created_at: number;
  readonly expires_at: number;
}

type QuotaTables = {
  quota_locks: QuotaLocksTable;
  quota_reservations: QuotaReservationsTable;
};

type QuotaDb = Kysely<Schema & QuotaTables>;

/** The property Glance sets while an image is being copied or imported to stores. */
const IMPORTING_TO_STORES = 'os_glance_importing_to_stores';
const GONE = ['killed', 'deleted'];
const IN_UPLOAD = ['saving', 'uploading', 'importing'];
const STAGING = ['uploading', 'importing'];

/** Owner key of the lock and reservation rows: a project id is never empty, so '' is "no owner". */
const ownerKey = (owner: string | null): string => owner ?? '';

/** The lock row is missing: create it outside the transaction and start again. */
class NoLockRow extends Error {}

export function createQuotaRepository(db: Kysely<Schema>, opts: { readonly engine?: SqlEngine } = {}): QuotaRepository {
  const engine = opts.engine ?? sqliteEngine;
  const qdb: QuotaDb = db.withTables<QuotaTables>();

  /** `images.owner = ?`, or IS NULL for images without owner (Glance's `owner == None`). */
  const ownerIs = (owner: string | null) => (owner === null ? sql<boolean>`images.owner is null` : sql<boolean>`images.owner = ${owner}`);

  /**
   * Glance's _image_get_disk_usage_by_owner: size once per live location (a copy in two stores
   * uses twice the space), sized images neither killed nor deleted (by status: an image pending
   * delete still holds its data).
   */
  function storageQuery(trx: QuotaDb | Transaction<Schema & QuotaTables>, owner: string | null, excludeImage?: string) {
    let q = trx
      .selectFrom('images')
      .innerJoin('image_locations', 'image_locations.image_id', 'images.id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('images.size'), sql.lit(0)).as('used'))
      .where(ownerIs(owner))
      .where('images.size', '>', 0)
      .where('images.status', 'not in', GONE)
      .where('image_locations.status', '!=', 'deleted');
    if (excludeImage !== undefined) q = q.where('images.id', '!=', excludeImage);
    return q;
  }

  async function storageBytes(trx: QuotaDb, owner: string | null, excludeImage?: string): Promise<number> {
    return Number((await storageQuery(trx, owner, excludeImage).executeTakeFirstOrThrow()).used);
  }

  /** Images with a non-empty os_glance_importing_to_stores and a status not in `excluded`. */
  const copying = (trx: QuotaDb, owner: string | null, excluded: readonly string[]) =>
    trx
      .selectFrom('images')
      .innerJoin('image_properties', 'image_properties.image_id', 'images.id')
      .where(ownerIs(owner))
      .where('image_properties.name', '=', IMPORTING_TO_STORES)
      .where('image_properties.value', '!=', '')
      .where('images.status', 'not in', excluded);

  /**
   * Runs `work` holding the owner's quota lock, after dropping the owner's expired
   * reservations. The lock row is created on first use, outside any transaction.
   */
  async function underOwnerLock<R>(owner: string | null, now: Date, work: (trx: Transaction<Schema & QuotaTables>) => Promise<R>): Promise<R> {
    const key = ownerKey(owner);
    for (;;) {
      try {
        return await inTransaction(qdb, engine, async (trx) => {
          const bumped = await trx
            .updateTable('quota_locks')
            .set((eb) => ({ version: eb('version', '+', 1) }))
            .where('owner', '=', key)
            .executeTakeFirst();
          if (Number(bumped.numUpdatedRows) === 0) throw new NoLockRow();
          await trx.deleteFrom('quota_reservations').where('owner', '=', key).where('expires_at', '<=', toDbTime(now)).execute();
          return work(trx);
        });
      } catch (e) {
        if (!(e instanceof NoLockRow)) throw e;
        try {
          await qdb.insertInto('quota_locks').values({ owner: key, version: 0 }).execute();
        } catch (insertError) {
          // Another process created it first: that is all we wanted.
          if (!(insertError instanceof UniqueViolation)) throw insertError;
        }
      }
    }
  }

  /**
   * The quota less stored bytes and live reservations, read in ONE statement. Two statements
   * would race with an upload that ends meanwhile: on PostgreSQL (READ COMMITTED, a snapshot
   * per statement) the stored sum could be read before its image row commits and the
   * reservations after it is released, counting its bytes zero times. One snapshot counts them
   * once or, between commit and release, twice (safe).
   */
  async function remainingFor(trx: Transaction<Schema & QuotaTables>, owner: string | null, limit: number): Promise<number> {
    const key = ownerKey(owner);
    const row = await trx
      .selectNoFrom((eb) => [
        storageQuery(trx, owner).as('used'),
        eb
          .selectFrom('quota_reservations')
          .select((r) => r.fn.coalesce(r.fn.sum<number>('bytes'), sql.lit(0)).as('held'))
          .where('owner', '=', key)
          .as('held'),
      ])
      .executeTakeFirstOrThrow();
    return limit - Number(row.used) - Number(row.held);
  }

  return {
    async usage(owner, usageOpts = {}): Promise<OwnerUsage> {
      const staged = await qdb
        .selectFrom('images')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('images.size'), sql.lit(0)).as('bytes'))
        .where(ownerIs(owner))
        .where('images.size', '>', 0)
        .where('images.status', 'in', STAGING)
        .executeTakeFirstOrThrow();
      const copied = await copying(qdb, owner, [...STAGING, ...GONE])
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('images.size'), sql.lit(0)).as('bytes'))
        .where('images.size', '>', 0)
        .executeTakeFirstOrThrow();
      const counted = await qdb
        .selectFrom('images')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(ownerIs(owner))
        .where('images.status', 'not in', GONE)
        .executeTakeFirstOrThrow();
      const uploading = await qdb
        .selectFrom('images')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(ownerIs(owner))
        .where('images.status', 'in', IN_UPLOAD)
        .executeTakeFirstOrThrow();
      const copyingCount = await copying(qdb, owner, [...IN_UPLOAD, ...GONE])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return {
        storageBytes: await storageBytes(qdb, owner, usageOpts.excludeImage),
        stagingBytes: Number(staged.bytes) + Number(copied.bytes),
        images: Number(counted.n),
        uploading: Number(uploading.n) + Number(copyingCount.n),
      };
    },

    async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
      return underOwnerLock(req.owner, req.now, async (trx) => {
        const remaining = await remainingFor(trx, req.owner, req.limit);
        if (req.bytes > remaining) return { ok: false, remaining };
        const id = randomUUID();
        await trx
          .insertInto('quota_reservations')
          .values({
            id,
            owner: ownerKey(req.owner),
            image_id: req.imageId,
            bytes: req.bytes,
            holder: req.holder,
            created_at: toDbTime(req.now),
            expires_at: toDbTime(req.expiresAt),
          })
          .execute();
        return { ok: true, id };
      });
    },

    async grow(id, req): Promise<ReserveOutcome> {
      return underOwnerLock(req.owner, req.now, async (trx) => {
        const remaining = await remainingFor(trx, req.owner, req.limit);
        const live = await trx.selectFrom('quota_reservations').select('id').where('id', '=', id).executeTakeFirst();
        if (live === undefined || req.bytes > remaining) return { ok: false, remaining };
        await trx
          .updateTable('quota_reservations')
          .set((eb) => ({ bytes: eb('bytes', '+', req.bytes), expires_at: toDbTime(req.expiresAt) }))
          .where('id', '=', id)
          .execute();
        return { ok: true, id };
      });
    },

    async renew(id, expiresAt) {
      const r = await qdb.updateTable('quota_reservations').set({ expires_at: toDbTime(expiresAt) }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async release(id) {
      await qdb.deleteFrom('quota_reservations').where('id', '=', id).execute();
    },

    async releaseDeadHolders(isDead) {
      const holders = (await qdb.selectFrom('quota_reservations').select('holder').distinct().execute()).map((r) => r.holder);
      const dead = holders.filter(isDead);
      if (dead.length === 0) return 0;
      const r = await qdb.deleteFrom('quota_reservations').where('holder', 'in', dead).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
