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
import { SqliteDialect } from 'kysely';
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
import { ServiceUnavailable } from '../domain/errors.js';

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
  return err;
}

function guardConnection(connection: DatabaseConnection): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      try {
        return await connection.executeQuery<R>(query);
      } catch (err) {
        throw translate(err);
      }
    },
    async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
      try {
        yield* connection.streamQuery<R>(query, chunkSize);
      } catch (err) {
        throw translate(err);
      }
    },
  };
}

function guardDriver(inner: Driver, sqlite: BetterSqlite3.Database): Driver {
  return {
    init: () => inner.init(),
    acquireConnection: async () => guardConnection(await inner.acquireConnection()),
    beginTransaction: (c: DatabaseConnection, s: TransactionSettings) => inner.beginTransaction(c, s),
    commitTransaction: (c: DatabaseConnection) => inner.commitTransaction(c),
    async rollbackTransaction(c: DatabaseConnection) {
      // Already rolled back by SQLite after the error being reported: keep that error.
      if (!sqlite.inTransaction) return;
      await inner.rollbackTransaction(c);
    },
    savepoint: inner.savepoint?.bind(inner),
    rollbackToSavepoint: inner.rollbackToSavepoint?.bind(inner),
    releaseSavepoint: inner.releaseSavepoint?.bind(inner),
    releaseConnection: (c: DatabaseConnection) => inner.releaseConnection(c),
    destroy: () => inner.destroy(),
  };
}

/**
 * The dialect over one better-sqlite3 handle.
 * @example new Kysely<Schema>({ dialect: createSqliteDialect(new BetterSqlite3(path)) })
 */
export function createSqliteDialect(sqlite: BetterSqlite3.Database): SqliteDialect {
  const dialect = new SqliteDialect({ database: sqlite });
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => guardDriver(createDriver(), sqlite);
  return dialect;
}
