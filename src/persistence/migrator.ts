/**
 * Schema migrations: an explicit, ordered list (no directory scanning, so bundling or a
 * missing file can never silently skip one) run by Kysely's Migrator.
 */
import { Migrator } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { migration001Initial } from './migrations/001-initial.js';
import { migration002Tasks } from './migrations/002-tasks.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

/**
 * Every migration, in order, each built for the engine it runs on (one definition, the
 * engine's column types). Names sort in the same order (Kysely sorts them by name).
 */
export const MIGRATIONS: readonly (readonly [name: string, migration: (engine: SqlEngine) => Migration])[] = [
  ['001-initial', migration001Initial],
  ['002-tasks', migration002Tasks],
];

/** Kysely's bookkeeping table (its default name). */
export const MIGRATION_TABLE = 'kysely_migration';

function migratorFor(db: Kysely<any>, engine: SqlEngine): Migrator {
  const provider: MigrationProvider = {
    async getMigrations() {
      return Object.fromEntries(MIGRATIONS.map(([name, build]) => [name, build(engine)]));
    },
  };
  return new Migrator({ db, provider });
}

/**
 * Applies every pending migration, in order; a no-op when the schema is current.
 * Returns the revision reached (the last migration's name).
 *
 * Throws the first migration's error (the failed migration is rolled back when the
 * dialect supports transactional DDL, which SQLite and PostgreSQL do and MySQL does not),
 * or an Error when the database has migrations this build does not know (a newer schema).
 */
export async function migrateToLatest(db: Kysely<any>, engine: SqlEngine = sqliteEngine): Promise<string | null> {
  const { error, results } = await migratorFor(db, engine).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed.migrationName} failed: ${message}` : message, { cause: error });
  }
  return currentRevision(db);
}

/**
 * The name of the last applied migration, or null for a database never migrated
 * (no bookkeeping table, or an empty one). Reads the bookkeeping table directly, so a
 * database migrated by a newer build reports its real revision.
 */
export async function currentRevision(db: Kysely<any>): Promise<string | null> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return null;
  const last = await db
    .selectFrom(MIGRATION_TABLE)
    .select('name')
    .orderBy('name', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (last?.name as string | undefined) ?? null;
}
