/**
 * `TaskRepository` over the tasks table (Glance's tasks + task_info in one row, see
 * migrations/002-tasks.ts; the lease columns, 003-task-leases.ts), on any engine of the
 * dialect seam.
 *
 * Every read of live rows spells `deleted = 0` as a literal (`sql.lit(0)`) so SQLite can use
 * the indexes that lead with it.
 */
import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, Insertable, Kysely, Selectable, SqlBool } from 'kysely';
import { Conflict, NotFound } from '../domain/errors.js';
import { FAIL_UNFINISHED, type Task, type TaskStatus, type TaskType } from '../domain/task.js';
import {
  TASK_TEXT_FILTER_KEYS,
  TASK_TIME_FILTER_KEYS,
  type TaskListQuery,
  type TaskRepository,
  type TaskSortKey,
} from '../domain/ports.js';
import { fromDbTime, toDbTime } from './image-rows.js';
import type { Schema, TasksTable } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

type TaskRow = Selectable<TasksTable>;

const LIVE = sql.lit(0);

function toJson(value: Record<string, unknown> | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

function fromJson(text: string | null): Record<string, unknown> | null {
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

function rowToTask(row: TaskRow): Task {
  const task: Task = {
    id: row.id,
    type: row.type as TaskType,
    status: row.status as TaskStatus,
    owner: row.owner,
    image_id: row.image_id,
    request_id: row.request_id,
    user_id: row.user_id,
    expires_at: row.expires_at === null ? null : fromDbTime(row.expires_at),
    created_at: fromDbTime(row.created_at),
    updated_at: fromDbTime(row.updated_at),
    input: fromJson(row.input),
    result: fromJson(row.result),
    message: row.message,
  };
  if (row.lease_owner === null || row.lease_expires_at === null) return task;
  return { ...task, lease: { owner: row.lease_owner, expires_at: fromDbTime(row.lease_expires_at) } };
}

/**
 * The row of `task` for INSERT or a full UPDATE (soft-delete and lease columns excluded: a
 * save must not move the lease its owner renews meanwhile).
 */
function taskColumns(task: Task): Omit<Insertable<TasksTable>, 'deleted' | 'deleted_at' | 'lease_owner' | 'lease_expires_at'> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    image_id: task.image_id,
    request_id: task.request_id,
    user_id: task.user_id,
    expires_at: task.expires_at === null ? null : toDbTime(task.expires_at),
    created_at: toDbTime(task.created_at),
    updated_at: toDbTime(task.updated_at),
    input: toJson(task.input),
    result: toJson(task.result),
    message: task.message,
  };
}

type Eb = ExpressionBuilder<Schema, 'tasks'>;
type SortValue = string | number | null;

/** Not deleted, and not expired at `now` (Glance soft-deletes expired tasks before listing). */
function isLive(eb: Eb, now: number): Expression<SqlBool> {
  return eb.and([
    eb('deleted', '=', LIVE),
    eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]),
  ]);
}

/**
 * Rows strictly after the marker in the order `keys` (all in `dir`), as Glance's
 * _paginate_query builds it: (k1 > m1) or (k1 = m1 and k2 > m2) or …, except that NULLs are
 * placed where SQLite sorts them (first ascending, last descending), so a nullable sort key
 * (expires_at, image_id…) neither skips nor repeats rows across pages.
 */
function afterMarker(
  eb: Eb,
  keys: readonly TaskSortKey[],
  values: readonly SortValue[],
  dir: 'asc' | 'desc',
): Expression<SqlBool> {
  const arms: Expression<SqlBool>[] = [];
  for (let i = 0; i < keys.length; i++) {
    const parts: Expression<SqlBool>[] = [];
    // `IS value` is SQLite only; the other engines take IS for NULL alone.
    for (let j = 0; j < i; j++) parts.push(values[j] === null ? eb(keys[j]!, 'is', null) : eb(keys[j]!, '=', values[j]!));
    const key = keys[i]!;
    const value = values[i]!;
    if (dir === 'asc') {
      // Everything non-NULL is after a NULL; after a value come the greater values.
      parts.push(value === null ? eb(key, 'is not', null) : eb(key, '>', value));
    } else {
      // Nothing is after a NULL (NULLs come last); after a value come smaller values, then NULLs.
      if (value === null) continue;
      parts.push(eb.or([eb(key, '<', value), eb(key, 'is', null)]));
    }
    arms.push(eb.and(parts));
  }
  return arms.length === 0 ? sql<SqlBool>`1 = 0` : eb.or(arms);
}

/**
 * Creates the repository over an open, migrated database. Times come from the entities and
 * the callers' `now`; the repository reads no clock.
 *
 * @example const { db, engine } = openDatabase({ url }); const tasks = createTaskRepository(db, { engine });
 */
export function createTaskRepository(db: Kysely<Schema>, opts: { readonly engine?: SqlEngine } = {}): TaskRepository {
  const engine = opts.engine ?? sqliteEngine;
  return {
    async add(task) {
      const lease = task.lease === undefined ? {} : { lease_owner: task.lease.owner, lease_expires_at: toDbTime(task.lease.expires_at) };
      try {
        await db.insertInto('tasks').values({ ...taskColumns(task), ...lease }).execute();
      } catch (err) {
        if (err instanceof UniqueViolation) throw new Conflict(`Task ID ${task.id} already exists!`, { cause: err });
        throw err;
      }
    },

    async get(id) {
      const row = await db
        .selectFrom('tasks')
        .selectAll()
        .where('id', '=', id)
        .where('deleted', '=', LIVE)
        .executeTakeFirst();
      return row === undefined ? null : rowToTask(row);
    },

    async save(task, opts) {
      const fromStatus = opts?.fromStatus ?? task.status;
      const { id: _id, ...columns } = taskColumns(task);
      await inTransaction(db, engine, async (trx) => {
        // Compare-and-swap on status; the write comes first (see image-repository.ts).
        const result = await trx
          .updateTable('tasks')
          .set(columns)
          .where('id', '=', task.id)
          .where('status', '=', fromStatus)
          .where('deleted', '=', LIVE)
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) return;
        const current = await trx
          .selectFrom('tasks')
          .select('status')
          .where('id', '=', task.id)
          .where('deleted', '=', LIVE)
          .executeTakeFirst();
        // Glance's TaskRepo.save wording.
        if (current === undefined) throw new NotFound(`Could not find task ${task.id}`);
        throw new Conflict(
          `Task ${task.id} is ${current.status}, not ${fromStatus}: cannot change it to ${task.status}`,
        );
      });
    },

    async renewLease(id, lease, now) {
      // Only updated_at and the lease: a heartbeat must not overwrite a message written meanwhile.
      const result = await db
        .updateTable('tasks')
        .set({ updated_at: toDbTime(now), lease_expires_at: toDbTime(lease.expires_at) })
        .where('id', '=', id)
        .where('lease_owner', '=', lease.owner)
        .where('status', 'in', ['pending', 'processing'])
        .where('deleted', '=', LIVE)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async leaseOwners() {
      const rows = await db
        .selectFrom('tasks')
        .select('lease_owner')
        .distinct()
        .where('deleted', '=', LIVE)
        .where('status', 'in', ['pending', 'processing'])
        .where('lease_owner', 'is not', null)
        .execute();
      return rows.map((r) => r.lease_owner!).sort();
    },

    async list(query) {
      const now = toDbTime(query.now);
      // Glance's task_get_all: the sort key, then created_at and id unless already there.
      const keys: TaskSortKey[] = [query.sortKey];
      for (const k of ['created_at', 'id'] as const) if (!keys.includes(k)) keys.push(k);

      let marker: TaskRow | undefined;
      if (query.marker !== undefined) {
        marker = await db
          .selectFrom('tasks')
          .selectAll()
          .where('id', '=', query.marker)
          .where((eb) => isLive(eb, now))
          .executeTakeFirst();
        if (marker === undefined) throw new NotFound(`Task with the given id ${query.marker} was not found`);
      }
      if (query.limit <= 0) return [];

      let qb = db
        .selectFrom('tasks')
        .selectAll()
        .where((eb) => isLive(eb, now));
      if (query.owner !== null) qb = qb.where('owner', '=', query.owner);
      for (const key of TASK_TEXT_FILTER_KEYS) {
        for (const value of query.filters[key] ?? []) qb = qb.where(key, '=', value);
      }
      for (const key of TASK_TIME_FILTER_KEYS) {
        for (const value of query.filters[key] ?? []) {
          // `= NULL` is never true: a value that can equal no stored time matches nothing.
          qb = qb.where(key, '=', value === null ? sql.lit(null) : toDbTime(value));
        }
      }
      if (marker !== undefined) {
        const row = marker;
        qb = qb.where((eb) => afterMarker(eb, keys, keys.map((k) => row[k]), query.sortDir));
      }
      for (const key of keys) qb = qb.orderBy(key, engine.orderNullable(query.sortDir));
      const rows = await qb.limit(query.limit).execute();
      return rows.map(rowToTask);
    },

    async listForImage(imageId) {
      const rows = await db
        .selectFrom('tasks')
        .selectAll()
        .where('image_id', '=', imageId)
        .where('deleted', '=', LIVE)
        // Creation order (the rowid order SQLite gave before, which other engines lack).
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(rowToTask);
    },

    async failAbandoned(which, message, now, expiresAt) {
      const failure = { status: FAIL_UNFINISHED.to, message, updated_at: toDbTime(now), expires_at: toDbTime(expiresAt) };
      const owners = which.owners ?? [];
      const abandoned = (eb: Eb): Expression<SqlBool> => {
        const arms: Expression<SqlBool>[] = [];
        if (which.leaseEndedBy !== undefined) arms.push(eb('lease_expires_at', '<=', toDbTime(which.leaseEndedBy)));
        if (which.unleased === true) arms.push(eb('lease_expires_at', 'is', null));
        if (owners.length > 0) arms.push(eb('lease_owner', 'in', owners));
        const unfinished = [eb('deleted', '=', LIVE), eb('status', 'in', [...FAIL_UNFINISHED.from]), eb.or(arms)];
        if (which.id !== undefined) unfinished.push(eb('id', '=', which.id));
        return arms.length === 0 ? sql<SqlBool>`1 = 0` : eb.and(unfinished);
      };
      let rows: TaskRow[];
      if (engine.updateReturning) {
        // The WHERE is evaluated again on each locked row, so two nodes sweeping at once
        // never both fail (and recover) the same task.
        rows = await db.updateTable('tasks').set(failure).where(abandoned).returningAll().execute();
      } else {
        // No UPDATE … RETURNING: lock the abandoned rows, update exactly those, read them back.
        rows = await inTransaction(db, engine, async (trx) => {
          const ids = (await trx.selectFrom('tasks').select('id').where(abandoned).forUpdate().execute()).map((r) => r.id);
          if (ids.length === 0) return [];
          await trx.updateTable('tasks').set(failure).where('id', 'in', ids).execute();
          return trx.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
        });
      }
      return rows.map(rowToTask).sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
    },

    async purgeExpired(now) {
      const at = toDbTime(now);
      const result = await db
        .updateTable('tasks')
        .set({ deleted: 1, deleted_at: at })
        .where('deleted', '=', LIVE)
        .where('expires_at', '<=', at)
        .where('status', 'in', ['success', 'failure'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
