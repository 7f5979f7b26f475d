/**
 * Wraps a Kysely dialect's driver so every statement and every pool checkout is reported to a
 * `DatabaseObserver` (the metrics): statement kind and duration, connection wait, connections
 * in use. Engine-agnostic: it sits around whatever driver the engine's dialect module built.
 */
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';

export interface DatabaseObserver {
  /** One statement ran (`kind`: select, insert, update, delete or other). */
  query(kind: string, seconds: number, failed: boolean): void;
  /** A connection was checked out of the pool after `seconds` of waiting. */
  acquired(seconds: number): void;
  /** A checked-out connection went back to the pool. */
  released(): void;
}

const KINDS: Readonly<Record<string, string>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

/** The statement's kind from its operation tree: no SQL text is looked at. */
function kindOf(query: CompiledQuery): string {
  return KINDS[query.query.kind] ?? 'other';
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function observeConnection(connection: DatabaseConnection, observer: DatabaseObserver): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const started = performance.now();
      try {
        const result = await connection.executeQuery<R>(query);
        observer.query(kindOf(query), seconds(started), false);
        return result;
      } catch (err) {
        observer.query(kindOf(query), seconds(started), true);
        throw err;
      }
    },
    streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => connection.streamQuery<R>(query, chunkSize),
  };
}

/** `dialect` whose driver reports to `observer` (same adapter, compiler and introspector). */
export function observeDialect<D extends Dialect>(dialect: D, observer: DatabaseObserver): D {
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => observeDriver(createDriver(), observer);
  return dialect;
}

function observeDriver(driver: Driver, observer: DatabaseObserver): Driver {
  // The driver's own connection object goes back to it in every call.
  const inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const unwrap = (c: DatabaseConnection): DatabaseConnection => inner.get(c) ?? c;
  return {
    init: () => driver.init(),
    async acquireConnection() {
      const started = performance.now();
      const connection = await driver.acquireConnection();
      observer.acquired(seconds(started));
      const observed = observeConnection(connection, observer);
      inner.set(observed, connection);
      return observed;
    },
    beginTransaction: (c, s) => driver.beginTransaction(unwrap(c), s),
    commitTransaction: (c) => driver.commitTransaction(unwrap(c)),
    rollbackTransaction: (c) => driver.rollbackTransaction(unwrap(c)),
    savepoint: driver.savepoint && ((c, name, compile) => driver.savepoint!(unwrap(c), name, compile)),
    rollbackToSavepoint: driver.rollbackToSavepoint && ((c, name, compile) => driver.rollbackToSavepoint!(unwrap(c), name, compile)),
    releaseSavepoint: driver.releaseSavepoint && ((c, name, compile) => driver.releaseSavepoint!(unwrap(c), name, compile)),
    async releaseConnection(c) {
      try {
        await driver.releaseConnection(unwrap(c));
      } finally {
        observer.released();
      }
    },
    destroy: () => driver.destroy(),
  };
}
