/**
 * Opens the database behind Iris's repositories: SQLite (the embedded default), PostgreSQL or
 * MySQL/MariaDB, chosen by the SQLAlchemy-style URL (database-url.ts). The returned `engine`
 * is the dialect seam repositories and migrations consult (sql-engine.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, type Dialect } from 'kysely';
import { parseDatabaseUrl } from './database-url.js';
import type { DatabaseUrl } from './database-url.js';
import { createMysqlDialect, mysqlEngine } from './mysql-dialect.js';
import { DEFAULT_POOL_OPTIONS } from './pool-options.js';
import type { PoolOptions } from './pool-options.js';
import { createPostgresDialect, postgresEngine } from './postgres-dialect.js';
import { observeDialect, type DatabaseObserver } from './observed-dialect.js';
import type { Schema } from './schema.js';
import type { SqlEngine } from './sql-engine.js';
import { createSqliteDialect, sqliteEngine } from './sqlite-dialect.js';

export interface Database {
  readonly db: Kysely<Schema>;
  readonly engine: SqlEngine;
  /** What was opened (the SQLite path, or the server, user and database). */
  readonly target: DatabaseUrl;
  /** Closes the connection or pool; idempotent. */
  close(): Promise<void>;
}

export type OpenOptions = (
  | { readonly sqlitePath: string }
  | {
      /** A `[database] connection` URL. */
      readonly url: string;
      /** Resolves a relative sqlite:/// path (default: the process's working directory). */
      readonly cwd?: string;
      readonly pool?: Partial<PoolOptions>;
    }
) & {
  /** Told about every statement and pool checkout (the metrics). */
  readonly observer?: DatabaseObserver;
};

/**
 * Opens the database; servers are connected lazily (on the first query), so this never waits:
 * see `waitForDatabase` for start-up. Throws an Error with the reason for a URL Iris cannot use.
 *
 * SQLite: opens (creating it and its parent directory if needed) the file. Pragmas: WAL so
 * API workers read while one writes; synchronous=NORMAL, durable under WAL except for the
 * last transactions on power loss; foreign keys on (SQLite defaults them off); a 5 s busy
 * timeout so concurrent writers from several processes wait instead of failing with
 * SQLITE_BUSY. A full disk makes writes fail with ServiceUnavailable (see sqlite-dialect.ts).
 * Does not migrate: see `migrator.ts`.
 *
 * @example const { db, engine, close } = openDatabase({ url: config.database.connection, pool });
 */
export function openDatabase(opts: OpenOptions): Database {
  const target: DatabaseUrl =
    'sqlitePath' in opts ? { engine: 'sqlite', path: opts.sqlitePath } : parseDatabaseUrl(opts.url, opts.cwd ?? process.cwd());
  const observed = <D extends Dialect>(dialect: D): D => (opts.observer ? observeDialect(dialect, opts.observer) : dialect);
  if (target.engine === 'sqlite') return openSqlite(target.path, target, observed);
  const pool: PoolOptions = { ...DEFAULT_POOL_OPTIONS, ...('pool' in opts ? opts.pool : {}) };
  const engine = target.engine === 'postgresql' ? postgresEngine : mysqlEngine;
  const dialect = target.engine === 'postgresql' ? createPostgresDialect(target, pool) : createMysqlDialect(target, pool);
  return closable(new Kysely<Schema>({ dialect: observed(dialect) }), engine, target);
}

function openSqlite(path: string, target: DatabaseUrl, observed: <D extends Dialect>(dialect: D) => D): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  // Kysely's SQLite driver closes the better-sqlite3 handle on destroy.
  return closable(new Kysely<Schema>({ dialect: observed(createSqliteDialect(sqlite)) }), sqliteEngine, target);
}

function closable(db: Kysely<Schema>, engine: SqlEngine, target: DatabaseUrl): Database {
  let closed = false;
  return {
    db,
    engine,
    target,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

export interface WaitOptions {
  /** Attempts after the first (`max_retries`); -1 waits forever. */
  readonly maxRetries: number;
  /** Seconds between attempts (`retry_interval`). */
  readonly retryInterval: number;
  /** Told about each failed attempt (for a log line). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Waits until the database answers a trivial query, as oslo.db does at start (`max_retries`,
 * `retry_interval`). Throws the last error once the attempts are used up.
 */
export async function waitForDatabase(database: Database, opts: WaitOptions): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sql`select 1`.execute(database.db);
      return;
    } catch (err) {
      if (opts.maxRetries !== -1 && attempt > opts.maxRetries) throw err;
      opts.onRetry?.(err, attempt);
      await sleep(opts.retryInterval * 1000, undefined, { signal: opts.signal });
    }
  }
}
