/**
 * 003-task-leases: which process runs an unfinished task, and until when.
 *
 * Several API nodes share the database; a node that dies mid-import stops renewing its
 * task's lease, and any other node fails the task once `lease_expires_at` has passed.
 * `lease_owner` is the process (`<node>-<pid>`), `lease_expires_at` epoch milliseconds as
 * every time in the schema. Rows from before this migration have no lease: any node may
 * take them over (they were left by a restart or by a single node).
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration003TaskLeases = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, bigint } = engine.types;
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('tasks').addColumn('lease_owner', string(255)).execute();
    await db.schema.alterTable('tasks').addColumn('lease_expires_at', bigint).execute();
    // The take-over sweep every node runs: unfinished tasks by lease end.
    await db.schema.createIndex('ix_tasks_lease').on('tasks').columns(['deleted', 'status', 'lease_expires_at']).execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropIndex('ix_tasks_lease').on('tasks').execute();
    await db.schema.alterTable('tasks').dropColumn('lease_expires_at').execute();
    await db.schema.alterTable('tasks').dropColumn('lease_owner').execute();
  },
});
