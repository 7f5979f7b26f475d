/**
 * Kysely's SQLite dialect with two repairs for a database that cannot be written (its disk is
 * full):
 * - SQLite answers SQLITE_FULL (like IOERR or NOMEM) by rolling back the whole transaction
 *   itself when the failing statement had no statement journal. Kysely then sends its own
 *   ROLLBACK, which fails with "cannot rollback - no transaction is active", and that error
 *   replaced the real one. The rollback is skipped when SQLite has none open.
 * - SQLITE_FULL becomes ServiceUnavailable (503) with the SQLite error as its cause: the
 *   request was fine, the service cannot store anything until an operator frees space.
 *   (Glance's 413 for a full image store is about the image's data; here every write fails,
 *   even a tag, so "too large" would mislead the client.)
 */
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, sql, SqliteDialect } from 'kysely';
import type { SqlBool } from 'kysely';
import { ServiceUnavailable } from '../domain/errors.js';
import { guardDialect } from './guarded-driver.js';
import { ForeignKeyViolation, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';

/** True for SQLite's "database or disk is full" (SQLITE_FULL). */
export function isDiskFull(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

function translate(err: unknown): unknown {
  if (isDiskFull(err)) {
    return new ServiceUnavailable(
      'The image database is full (no space left for it); nothing was changed. Try again once space has been freed.',
      { cause: err },
    );
  }
  // better-sqlite3 reports constraint violations with an extended result code.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new UniqueViolation((err as Error).message, { cause: err });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new ForeignKeyViolation((err as Error).message, { cause: err });
  return err;
}

/** How many prepared statements one handle keeps (distinct SQL texts; Iris issues ~200). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The handle as Kysely sees it, with its prepared statements kept by SQL text: Kysely's driver
 * prepares every query it runs, and compiling the SQL again took 10 % of the event loop's busy
 * time in a metadata benchmark (bench/RESULTS.md, session 9). A statement still iterating (a
 * streamed query) is busy and cannot be run again, so a fresh one is prepared for that call.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): BetterSqlite3.Database {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string): BetterSqlite3.Statement => {
    const cached = statements.get(source);
    if (cached !== undefined && !cached.busy) return cached;
    const statement = sqlite.prepare(source);
    if (cached === undefined) {
      // Oldest first out: a Map iterates in insertion order.
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statements.set(source, statement);
    }
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The dialect over one better-sqlite3 handle.
 * @example new Kysely<Schema>({ dialect: createSqliteDialect(new BetterSqlite3(path)) })
 */
export function createSqliteDialect(sqlite: BetterSqlite3.Database): SqliteDialect {
  return guardDialect(new SqliteDialect({ database: withStatementCache(sqlite) }), {
    translate,
    // A deferred transaction that reads first and writes later cannot wait for another
    // process's write lock under WAL (SQLITE_BUSY at once, whatever busy_timeout says): take
    // the write lock at BEGIN, where busy_timeout does wait. Iris's transactions all write.
    async begin(_driver, connection) {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    },
    async rollback(driver, connection) {
      // Already rolled back by SQLite after the error being reported: keep that error.
      if (!sqlite.inTransaction) return;
      await driver.rollbackTransaction(connection);
    },
  });
}

/**
 * SQLite's side of the seam. Its column types and table options are exactly what migrations
 * 001 and 002 always produced (STRICT tables accept only INTEGER, TEXT, REAL, BLOB, ANY), so
 * existing data dirs keep their schema. One process writes at a time (busy timeout), so there
 * are no deadlocks to retry.
 */
export const sqliteEngine: SqlEngine = {
  name: 'sqlite',
  types: { string: () => 'text', text: 'text', integer: 'integer', bigint: 'integer' },
  tableOptions: (table, opts) => table.modifyEnd(opts.withoutRowid === true ? sql`strict, without rowid` : sql`strict`),
  isJsonOrNull: (column) => sql`${sql.raw(column)} is null or json_valid(${sql.raw(column)})`,
  // INTEGER PRIMARY KEY is the rowid: assigned on insert, no AUTOINCREMENT bookkeeping.
  autoIncrementId: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey()),
  async createSortIndex(db, name, table, columns) {
    await db.schema.createIndex(name).on(table).columns([...columns]).execute();
  },
  async createLiveUniqueIndex(db, name, table, columns) {
    await db.schema.createIndex(name).unique().on(table).columns([...columns]).where(sql<SqlBool>`deleted = 0`).execute();
  },
  // SQLite already puts NULLs first ascending and last descending.
  orderNullable: (dir) => dir,
  updateReturning: true,
  transactionAttempts: 1,
};
