/**
 * 002-tasks: the tasks of asynchronous imports.
 *
 * Glance keeps a task in two tables, tasks and task_info (input, result, message, one row per
 * task, always written together). Iris folds task_info into tasks: `input` and `result` are
 * JSON object text (NULL for None), `message` is text ('' for none, as Glance's entity
 * stores it). Times are integer epoch milliseconds and the table is STRICT, as in 001.
 * Tasks are soft-deleted when they expire (`deleted`, `deleted_at`), as Glance does.
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration002Tasks = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, text, integer, bigint } = engine.types;
    await engine
      .tableOptions(
        db.schema
          .createTable('tasks')
          .addColumn('id', string(36), (c) => c.primaryKey().notNull())
          .addColumn('type', string(30), (c) => c.notNull())
          .addColumn('status', string(30), (c) => c.notNull())
          .addColumn('owner', string(255), (c) => c.notNull())
          .addColumn('expires_at', bigint)
          .addColumn('image_id', string(36))
          .addColumn('request_id', string(255))
          .addColumn('user_id', string(255))
          .addColumn('input', text, (c) => c.check(engine.isJsonOrNull('input')))
          .addColumn('result', text, (c) => c.check(engine.isJsonOrNull('result')))
          .addColumn('message', text, (c) => c.notNull().defaultTo(''))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addColumn('deleted_at', bigint)
          .addColumn('deleted', integer, (c) => c.notNull().defaultTo(0).check(sql`deleted in (0, 1)`)),
        {},
      )
      .execute();

    // The default list (created_at desc, id desc) for admins and for one owner walks these in
    // order; other sort keys are rare on a table that only holds two days of tasks.
    const indexes: readonly [string, readonly string[]][] = [
      ['ix_tasks_list_created', ['deleted', 'created_at', 'id']],
      ['ix_tasks_owner_created', ['deleted', 'owner', 'created_at', 'id']],
      // GET /v2/images/{id}/tasks (Glance's ix_tasks_image_id).
      ['ix_tasks_image_id', ['image_id']],
      // Start recovery: unfinished tasks, and expired ones to purge.
      ['ix_tasks_status', ['deleted', 'status']],
      ['ix_tasks_expires_at', ['deleted', 'expires_at']],
    ];
    for (const [name, columns] of indexes) {
      await db.schema.createIndex(name).on('tasks').columns([...columns]).execute();
    }
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('tasks').execute();
  },
});
