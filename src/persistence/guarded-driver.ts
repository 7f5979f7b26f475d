/**
 * Wraps a Kysely driver so every error a query raises passes through the engine's
 * `translate` (driver error → UniqueViolation, RetryableConflict, ServiceUnavailable, …)
 * before any repository sees it. Used by each engine's dialect module.
 */
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { ServiceUnavailable } from '../domain/errors.js';

export type Translate = (err: unknown) => unknown;

function guardConnection(connection: DatabaseConnection, translate: Translate): DatabaseConnection {
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

/** The connection the guard wraps, so driver methods receive their own object back. */
const inner = new WeakMap<DatabaseConnection, DatabaseConnection>();

export interface GuardOptions {
  readonly translate: Translate;
  /** Replaces the driver's begin (SQLite takes the write lock up front: BEGIN IMMEDIATE). */
  readonly begin?: (driver: Driver, connection: DatabaseConnection, settings: TransactionSettings) => Promise<void>;
  /** Replaces the driver's rollback (SQLite skips it when the engine already rolled back). */
  readonly rollback?: (driver: Driver, connection: DatabaseConnection) => Promise<void>;
  /**
   * Milliseconds to wait for a pooled connection before failing with ServiceUnavailable, for
   * drivers whose pool has no such limit (mysql2). A connection that arrives later is released.
   */
  readonly acquireTimeoutMs?: number;
}

async function acquireWithin(driver: Driver, ms: number): Promise<DatabaseConnection> {
  const pending = driver.acquireConnection();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    const winner = await Promise.race([pending, timedOut]);
    if (winner !== 'timeout') return winner;
  } finally {
    clearTimeout(timer);
  }
  // Give the late connection back to the pool; an acquisition that fails later has nothing to release.
  pending.then((c) => driver.releaseConnection(c)).catch(() => undefined);
  throw new ServiceUnavailable(`No database connection became free within pool_timeout (${ms / 1000} s); nothing was changed. Try again later.`);
}

export function guardDriver(driver: Driver, opts: GuardOptions): Driver {
  const unwrap = (c: DatabaseConnection): DatabaseConnection => inner.get(c) ?? c;
  const translated = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw opts.translate(err);
    }
  };
  return {
    init: () => translated(() => driver.init()),
    async acquireConnection() {
      const connection = await translated(() =>
        opts.acquireTimeoutMs === undefined ? driver.acquireConnection() : acquireWithin(driver, opts.acquireTimeoutMs),
      );
      const guarded = guardConnection(connection, opts.translate);
      inner.set(guarded, connection);
      return guarded;
    },
    beginTransaction: (c: DatabaseConnection, s: TransactionSettings) =>
      translated(() => (opts.begin ? opts.begin(driver, unwrap(c), s) : driver.beginTransaction(unwrap(c), s))),
    commitTransaction: (c: DatabaseConnection) => translated(() => driver.commitTransaction(unwrap(c))),
    rollbackTransaction: (c: DatabaseConnection) =>
      opts.rollback ? opts.rollback(driver, unwrap(c)) : driver.rollbackTransaction(unwrap(c)),
    savepoint: driver.savepoint && ((c, name, compile) => driver.savepoint!(unwrap(c), name, compile)),
    rollbackToSavepoint: driver.rollbackToSavepoint && ((c, name, compile) => driver.rollbackToSavepoint!(unwrap(c), name, compile)),
    releaseSavepoint: driver.releaseSavepoint && ((c, name, compile) => driver.releaseSavepoint!(unwrap(c), name, compile)),
    releaseConnection: (c: DatabaseConnection) => driver.releaseConnection(unwrap(c)),
    destroy: () => driver.destroy(),
  };
}

/** `dialect` with its driver guarded (same adapter, compiler and introspector). */
export function guardDialect<D extends Dialect>(dialect: D, opts: GuardOptions): D {
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => guardDriver(createDriver(), opts);
  return dialect;
}
