/**
 * Opens the SQLite database behind Iris's repositories.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Schema } from './schema.js';
import { createSqliteDialect } from './sqlite-dialect.js';

export interface Database {
  readonly db: Kysely<Schema>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Opens (creating it and its parent directory if needed) the SQLite file at `sqlitePath`.
 *
 * Pragmas: WAL so API workers read while one writes; synchronous=NORMAL, which is durable
 * under WAL except for the last transactions on power loss; foreign keys on (SQLite
 * defaults them off); a 5 s busy timeout so concurrent writers from several processes
 * wait instead of failing with SQLITE_BUSY. Does not migrate: see `migrator.ts`.
 *
 * Throws whatever better-sqlite3 throws when the file cannot be opened (e.g. permissions).
 * A full disk makes writes fail with ServiceUnavailable (see `sqlite-dialect.ts`).
 *
 * @example const { db, close } = openDatabase({ sqlitePath: config.database.sqlite_path });
 */
export function openDatabase(opts: { readonly sqlitePath: string }): Database {
  if (opts.sqlitePath !== ':memory:') {
    mkdirSync(dirname(opts.sqlitePath), { recursive: true });
  }
  const sqlite = new BetterSqlite3(opts.sqlitePath);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<Schema>({ dialect: createSqliteDialect(sqlite) });
  let closed = false;
  return {
    db,
    async close() {
      if (closed) return;
      closed = true;
      // Kysely's SQLite driver closes the better-sqlite3 handle on destroy.
      await db.destroy();
    },
  };
}
