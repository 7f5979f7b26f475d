/**
 * Recognises a database that is not Iris's before Iris migrates it: above all one made by the
 * real Glance (glance-manage db_sync), which an operator may point [database] connection at by
 * habit. Iris's schema is its own, so it must not adopt or alter such a database in place;
 * `iris-manage import-glance-db` copies Glance's data into a new Iris database instead.
 * A SQLite file is checked before it is even opened for writing (opening switches it to WAL);
 * a server database right after connecting (`assertIrisSchema`).
 */
import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

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
    const alembicRevision = (): string | undefined => {
      const row = sqlite.prepare('select version_num from alembic_version limit 1').get() as { version_num?: string } | undefined;
      return row?.version_num;
    };
    const problem = foreignSchema(path, tables, alembicRevision);
    if (problem !== undefined) throw problem;
  } finally {
    sqlite.close();
  }
}

const FIX = 'Iris cannot use it in place; point [database] connection at a new database';
const GLANCE_FIX = `${FIX} and copy the images with iris-manage import-glance-db`;

/** The error for a database holding `tables`, or undefined when it is empty or Iris's. */
function foreignSchema(what: string, tables: readonly string[], alembicRevision: () => string | undefined): ForeignDatabaseError | undefined {
  if (tables.length === 0 || tables.some((name) => IRIS_MARKERS.includes(name))) return undefined;
  if (tables.includes('alembic_version')) {
    let revision = '';
    try {
      const found = alembicRevision();
      if (found !== undefined) revision = ` (revision ${found})`;
    } catch {
      // an alembic table of another shape: still not Iris's, the revision is only detail
    }
    const images = tables.includes('images') ? " with Glance's images table" : '';
    return new ForeignDatabaseError(`${what} is a Glance database${revision}${images}: ${GLANCE_FIX}`, 'glance');
  }
  return new ForeignDatabaseError(
    `${what} is not an Iris database (it has tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''} but no Iris schema): ${FIX}`,
    'unknown',
  );
}

/**
 * Throws ForeignDatabaseError when the connected database (any engine) holds tables but not
 * Iris's schema. `what` names it in the message (e.g. the URL without its password).
 */
export async function assertIrisSchema(db: Kysely<any>, what: string): Promise<void> {
  const tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
  let revision: string | undefined;
  if (tables.includes('alembic_version')) {
    try {
      const { rows } = await sql<{ version_num: string }>`select version_num from alembic_version`.execute(db);
      revision = rows[0]?.version_num;
    } catch {
      // see foreignSchema: the revision is only detail
    }
  }
  const problem = foreignSchema(what, tables, () => revision);
  if (problem !== undefined) throw problem;
}
