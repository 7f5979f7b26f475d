/**
 * Opens the database the `[database]` section names, the way iris-api and iris-manage both
 * need it: never adopting a foreign (e.g. Glance's) database, waiting for a database server
 * that is still starting (max_retries, retry_interval), with the pool options applied.
 */
import { openDatabase, waitForDatabase } from './database.js';
import type { Database } from './database.js';
import { redactDatabaseUrl } from './database-url.js';
import { assertIrisDatabase, assertIrisSchema } from './foreign-database.js';
import type { DatabaseObserver } from './observed-dialect.js';
import { maxConnections, type PoolOptions } from './pool-options.js';
import type { Config } from '../config/config.js';

/** The `[database]` options, as config.ts types them. */
export type DatabaseSettings = Config['database'];

export function poolOptions(settings: DatabaseSettings): PoolOptions {
  return {
    maxPoolSize: settings.max_pool_size,
    maxOverflow: settings.max_overflow,
    poolTimeout: settings.pool_timeout,
    connectionRecycleTime: settings.connection_recycle_time,
    mysqlSqlMode: settings.mysql_sql_mode,
  };
}

/** Most connections the configured database may hold open at once (SQLite: its one handle). */
export function databaseMaxConnections(settings: DatabaseSettings): number {
  return settings.sqlite_path !== '' ? 1 : maxConnections(poolOptions(settings));
}

/** What to call the database in messages and logs: the file, or the URL without its password. */
export function describeDatabase(settings: DatabaseSettings): string {
  return settings.sqlite_path !== '' ? settings.sqlite_path : redactDatabaseUrl(settings.connection);
}

/**
 * Opens and checks the configured database. Throws ForeignDatabaseError for a database that
 * is not Iris's, or the driver's error once the start-up attempts are used up.
 *
 * @example const database = await openConfiguredDatabase(config.database, { onRetry: (err, n) => log.warn(…) });
 */
export async function openConfiguredDatabase(
  settings: DatabaseSettings,
  opts: {
    readonly onRetry?: (err: unknown, attempt: number) => void;
    readonly signal?: AbortSignal;
    /** Told about every statement and pool checkout (the metrics). */
    readonly observer?: DatabaseObserver;
  } = {},
): Promise<Database> {
  const observer = opts.observer ? { observer: opts.observer } : {};
  if (settings.sqlite_path !== '') {
    assertIrisDatabase(settings.sqlite_path); // before opening: opening switches the file to WAL
    return openDatabase({ sqlitePath: settings.sqlite_path, ...observer });
  }
  const database = openDatabase({ url: settings.connection, pool: poolOptions(settings), ...observer });
  try {
    try {
      await waitForDatabase(database, {
        maxRetries: settings.max_retries,
        retryInterval: settings.retry_interval,
        onRetry: opts.onRetry,
        signal: opts.signal,
      });
    } catch (err) {
      // The driver's reason (refused, authentication failed, unknown database…) is what the operator needs.
      const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : (err as Error).message;
      throw new Error(`cannot use the database: ${reason}`, { cause: err });
    }
    await assertIrisSchema(database.db, describeDatabase(settings));
    return database;
  } catch (err) {
    await database.close();
    throw err;
  }
}
