/**
 * Schema migrations: an explicit, ordered list (no directory scanning, so bundling or a
 * missing file can never silently skip one) run by Kysely's Migrator.
 */
import { Migrator } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { migration001Initial } from './migrations/001-initial.js';
import { migration002Tasks } from './migrations/002-tasks.js';
import { migration003TaskLeases } from './migrations/003-task-leases.js';
import { migration004Metadefs } from './migrations/004-metadefs.js';
import { migration005ImageCache } from './migrations/005-image-cache.js';
import { migration006Scrub } from './migrations/006-scrub.js';
import { migration007Quota } from './migrations/007-quota.js';
import { migration008ImageTransferLeases } from './migrations/008-image-transfer-leases.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

/**
 * Every migration, in order, each built for the engine it runs on (one definition, the
 * engine's column types). Names sort in the same order (Kysely sorts them by name).
 */
export const MIGRATIONS: readonly (readonly [name: string, migration: (engine: SqlEngine) => Migration])[] = [
  ['001-initial', migration001Initial],
  ['002-tasks', migration002Tasks],
  ['003-task-leases', migration003TaskLeases],
  ['004-metadefs', migration004Metadefs],
  ['005-image-cache', migration005ImageCache],
  ['006-scrub', migration006Scrub],
  ['007-quota', migration007Quota],
  ['008-image-transfer-leases', migration008ImageTransferLeases],
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
  await assertSchemaNotNewer(db);
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

/** Where the database stands against this build's migrations. */
export interface SchemaStatus {
  /** The last applied migration, or null for a database never migrated. */
  readonly current: string | null;
  /** Migrations of this build not applied yet, in order. */
  readonly pending: readonly string[];
  /** Applied migrations this build does not know: the schema is newer than the code. */
  readonly unknown: readonly string[];
}

/** Compares the applied migrations (read directly from the bookkeeping table) with MIGRATIONS. */
export async function schemaStatus(db: Kysely<any>): Promise<SchemaStatus> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const applied = tables.some((t) => t.name === MIGRATION_TABLE)
    ? ((await db.selectFrom(MIGRATION_TABLE).select('name').orderBy('name').execute()) as { name: string }[]).map((r) => r.name)
    : [];
  const known = new Set(MIGRATIONS.map(([name]) => name));
  const done = new Set(applied);
  return {
    current: applied.at(-1) ?? null,
    pending: MIGRATIONS.map(([name]) => name).filter((name) => !done.has(name)),
    unknown: applied.filter((name) => !known.has(name)),
  };
}

/** The database was migrated by a newer Iris: this build must not run on it. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/** Throws SchemaTooNewError when the database has migrations this build does not know. */
export async function assertSchemaNotNewer(db: Kysely<any>): Promise<void> {
  const { unknown } = await schemaStatus(db);
  if (unknown.length === 0) return;
  const latest = MIGRATIONS.at(-1)?.[0] ?? 'none';
  throw new SchemaTooNewError(
    `the database schema is newer than this Iris: it has migration(s) ${unknown.join(', ')}, this build knows up to ${latest}; run the Iris release that migrated it (or a later one)`,
  );
}
