/**
 * Live tasks by status, for the metrics scrape: one grouped count over the tasks table (small:
 * expired tasks are purged), never a row read.
 */
import { sql, type Kysely } from 'kysely';
import type { Schema } from './schema.js';

/**
 * @example await countTaskStates(db); // { processing: 2, success: 40 }
 */
export async function countTaskStates(db: Kysely<Schema>): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('tasks')
    .select(['status', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
    .where('deleted', '=', sql.lit(0))
    .groupBy('status')
    .execute();
  const counts: Record<string, number> = {};
  // PostgreSQL and MySQL answer count(*) as a string or bigint.
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

/** A trivial round trip: resolves when the database answers (the health check's probe). */
export async function pingDatabase(db: Kysely<Schema>): Promise<void> {
  await sql`select 1`.execute(db);
}
