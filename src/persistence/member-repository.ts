/**
 * `MemberRepository` over the image_members table, on any engine of the dialect seam.
 *
 * Every read of live rows spells `deleted = 0` as a literal (`sql.lit(0)`): SQLite only uses
 * the partial unique index on (image_id, member) when the query repeats its WHERE clause
 * verbatim, not with a bound parameter.
 */
import { sql } from 'kysely';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { Conflict, NotFound } from '../domain/errors.js';
import type { ImageMember, MemberStatus } from '../domain/member.js';
import type { Clock, MemberRepository } from '../domain/ports.js';
import { fromDbTime, toDbTime } from './image-rows.js';
import type { ImageMembersTable, Schema } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

type MemberRow = Pick<Selectable<ImageMembersTable>, 'image_id' | 'member' | 'status' | 'created_at' | 'updated_at'>;

const MEMBER_COLUMNS = ['image_id', 'member', 'status', 'created_at', 'updated_at'] as const;

const LIVE = sql.lit(0);

function rowToMember(row: MemberRow): ImageMember {
  return {
    image_id: row.image_id,
    member_id: row.member,
    status: row.status as MemberStatus,
    created_at: fromDbTime(row.created_at),
    updated_at: fromDbTime(row.updated_at),
  };
}

const systemClock: Clock = { now: () => new Date() };

function newRow(member: ImageMember) {
  return {
    image_id: member.image_id,
    member: member.member_id,
    status: member.status,
    created_at: toDbTime(member.created_at),
    updated_at: toDbTime(member.updated_at),
  };
}

/**
 * Creates the repository over an open, migrated database. `clock` stamps removals
 * (`deleted_at`, `updated_at`); adds and saves take their times from the entity.
 *
 * @example const { db, engine } = openDatabase({ url }); const members = createMemberRepository(db, { engine });
 */
export function createMemberRepository(
  db: Kysely<Schema>,
  opts: { readonly clock?: Clock; readonly engine?: SqlEngine } = {},
): MemberRepository {
  const clock = opts.clock ?? systemClock;
  const engine = opts.engine ?? sqliteEngine;

  /**
   * `add` where UPDATE … RETURNING is missing (MySQL/MariaDB): lock the last soft-deleted row
   * and revive it, or insert; then read the live row back.
   */
  async function reviveOrInsertWithoutReturning(trx: Transaction<Schema>, member: ImageMember): Promise<ImageMember> {
    const last = await trx
      .selectFrom('image_members')
      .select('id')
      .where('image_id', '=', member.image_id)
      .where('member', '=', member.member_id)
      .where('deleted', '=', sql.lit(1))
      .orderBy('id', 'desc')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (last === undefined) {
      await trx.insertInto('image_members').values(newRow(member)).execute();
    } else {
      await trx
        .updateTable('image_members')
        .set({ status: member.status, updated_at: toDbTime(member.updated_at), deleted: 0, deleted_at: null, can_share: 0 })
        .where('id', '=', last.id)
        .execute();
    }
    const row = await trx
      .selectFrom('image_members')
      .select(MEMBER_COLUMNS)
      .where('image_id', '=', member.image_id)
      .where('member', '=', member.member_id)
      .where('deleted', '=', LIVE)
      .executeTakeFirstOrThrow();
    return rowToMember(row);
  }

  return {
    async list(imageId) {
      const rows = await db
        .selectFrom('image_members')
        .select(MEMBER_COLUMNS)
        .where('image_id', '=', imageId)
        .where('deleted', '=', LIVE)
        .orderBy('id')
        .execute();
      return rows.map(rowToMember);
    },

    async get(imageId, memberId) {
      const row = await db
        .selectFrom('image_members')
        .select(MEMBER_COLUMNS)
        .where('image_id', '=', imageId)
        .where('member', '=', memberId)
        .where('deleted', '=', LIVE)
        .executeTakeFirst();
      return row === undefined ? null : rowToMember(row);
    },

    async count(imageId) {
      const row = await db
        .selectFrom('image_members')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('image_id', '=', imageId)
        .where('deleted', '=', LIVE)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async add(member) {
      const duplicate = new Conflict(`Member ${member.member_id} is duplicated for image ${member.image_id}`);
      try {
        return await inTransaction(db, engine, async (trx) => {
          // Write first (see image-repository.ts): revive the project's last soft-deleted row,
          // keeping its created_at, as Glance reuses a deleted membership row and its
          // update leaves created_at alone. The unique index refuses a second live row.
          if (!engine.updateReturning) return reviveOrInsertWithoutReturning(trx, member);
          const revived = await trx
            .updateTable('image_members')
            .set({ status: member.status, updated_at: toDbTime(member.updated_at), deleted: 0, deleted_at: null, can_share: 0 })
            .where(
              'id',
              '=',
              trx
                .selectFrom('image_members')
                .select((eb) => eb.fn.max('id').as('id'))
                .where('image_id', '=', member.image_id)
                .where('member', '=', member.member_id)
                .where('deleted', '=', sql.lit(1)),
            )
            // Again on the row itself: a racing add that revived it first must make this one
            // update nothing (PostgreSQL re-checks only the outer WHERE after the row lock).
            .where('deleted', '=', sql.lit(1))
            .returning(MEMBER_COLUMNS)
            .executeTakeFirst();
          if (revived !== undefined) return rowToMember(revived);
          const inserted = await trx
            .insertInto('image_members')
            .values(newRow(member))
            .returning(MEMBER_COLUMNS)
            .executeTakeFirstOrThrow();
          return rowToMember(inserted);
        });
      } catch (err) {
        if (err instanceof UniqueViolation) throw new Conflict(duplicate.message, { cause: err });
        throw err;
      }
    },

    async save(member) {
      const result = await db
        .updateTable('image_members')
        .set({ status: member.status, updated_at: toDbTime(member.updated_at) })
        .where('image_id', '=', member.image_id)
        .where('member', '=', member.member_id)
        .where('deleted', '=', LIVE)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw new NotFound(`${member.member_id} not found in the member list of the image ${member.image_id}.`);
      }
    },

    async remove(imageId, memberId) {
      const now = toDbTime(clock.now());
      const result = await db
        .updateTable('image_members')
        .set({ deleted: 1, deleted_at: now, updated_at: now })
        .where('image_id', '=', imageId)
        .where('member', '=', memberId)
        .where('deleted', '=', LIVE)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw new NotFound(`${memberId} not found in the member list of the image ${imageId}.`);
      }
    },
  };
}
