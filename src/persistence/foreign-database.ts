/**
 * Recognises a database file that is not Iris's before Iris opens it for writing (opening
 * switches it to WAL and migrating would add tables): above all one made by the real Glance
 * (glance-manage db_sync), which an operator may point [database] connection at by habit.
 * Iris's schema is its own, so it must not adopt or alter such a file in place.
 */
import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';

/** The database at a path is not Iris's; the message says what it is and what to do. */
export class ForeignDatabaseError extends Error {
  constructor(
    message: string,
    /** 'glance' for a Glance database (alembic), 'unknown' for any other tables. */
    readonly kind: 'glance' | 'unknown',
  ) {
    super(message);
    this.name = 'ForeignDatabaseError';
  }
}

/** Kysely's bookkeeping tables: present in every database Iris has migrated. */
const IRIS_MARKERS = ['kysely_migration'];

/**
 * Throws ForeignDatabaseError when the SQLite file at `path` holds tables but not Iris's
 * schema. A missing file, an empty one, or one Iris migrated passes. Opens the file read-only.
 */
export function assertIrisDatabase(path: string): void {
  if (path === ':memory:' || !existsSync(path)) return;
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  } catch {
    return; // not openable read-only: opening it for real reports why
  }
  try {
    const tables = (sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'").all() as { name: string }[]).map(
      (row) => row.name,
    );
    if (tables.length === 0 || tables.some((name) => IRIS_MARKERS.includes(name))) return;
    const fix = 'Iris cannot use it in place; point [database] connection at a new database';
    if (tables.includes('alembic_version')) {
      let revision = '';
      try {
        const row = sqlite.prepare('select version_num from alembic_version limit 1').get() as { version_num?: string } | undefined;
        if (row?.version_num !== undefined) revision = ` (revision ${row.version_num})`;
      } catch {
        // an alembic table of another shape: still not Iris's, the revision is only detail
      }
      const images = tables.includes('images') ? ' with Glance\'s images table' : '';
      throw new ForeignDatabaseError(`${path} is a Glance database${revision}${images}: ${fix}`, 'glance');
    }
    throw new ForeignDatabaseError(
      `${path} is not an Iris database (it has tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''} but no Iris schema): ${fix}`,
      'unknown',
    );
  } finally {
    sqlite.close();
  }
}
