/**
 * Opens a Glance database, read-only, from the SQLAlchemy URL its operators write in
 * glance-api.conf ([database] connection): SQLite (better-sqlite3), MySQL/MariaDB (mysql2) or
 * PostgreSQL (pg), each through Kysely's own dialect.
 *
 * This is the importer's private reader connection, not Iris's own database: Iris's engine
 * seam opens the target. Only SELECTs are ever sent.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import { parseDatabaseUrl, redactDatabaseUrl, type DatabaseUrl } from '../database-url.js';
import type { GlanceSchema } from './glance-schema.js';

/** A parsed Glance database URL, with a form safe to print. */
export interface GlanceUrl {
  readonly target: DatabaseUrl;
  /** The URL with its password replaced by `***`, for reports and errors. */
  readonly display: string;
}

/** The URL cannot be understood: a usage error (exit code 2). */
export class GlanceUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlanceUrlError';
  }
}

/**
 * Parses a SQLAlchemy URL the way Iris's own `[database] connection` is parsed
 * (database-url.ts: sqlite:///relative, sqlite:////absolute, mysql[+pymysql]://…,
 * postgresql[+psycopg2]://…, unix-socket forms). Throws GlanceUrlError with the reason.
 *
 * @example parseGlanceUrl('mysql+pymysql://glance:pw@controller/glance', '/')
 */
export function parseGlanceUrl(url: string, cwd: string): GlanceUrl {
  try {
    return { target: parseDatabaseUrl(url, cwd), display: redactDatabaseUrl(url) };
  } catch (err) {
    throw new GlanceUrlError(err instanceof Error ? err.message : String(err));
  }
}

// pg type OIDs read as text: timestamps (naive UTC in Glance) are parsed by the reader, like
// the text SQLite and MySQL (dateStrings) return.
const PG_TEXT_TYPES = new Set([1114, 1184]);

/**
 * Opens the database `url` names, for reading, with connection settings of its own rather
 * than Iris's dialects: Glance's columns (naive-UTC DATETIMEs, booleans) need reading as
 * they are, and the pool stays small. SQLite files are opened read-only and must
 * exist. The caller destroys the Kysely instance when done.
 */
export function openGlanceDatabase(url: GlanceUrl): Kysely<GlanceSchema> {
  const target = url.target;
  if (target.engine === 'sqlite') {
    const sqlite = new BetterSqlite3(target.path, { readonly: true, fileMustExist: true });
    return new Kysely<GlanceSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const timeout = target.connectTimeout === undefined ? {} : { connectTimeout: target.connectTimeout * 1000 };
  if (target.engine === 'mysql') {
    const pool = createPool({
      ...(target.socket !== undefined ? { socketPath: target.socket } : { host: target.host ?? 'localhost', port: target.port ?? 3306 }),
      ...(target.user !== undefined ? { user: target.user } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...timeout,
      database: target.database,
      connectionLimit: 2,
      // Glance's DATETIMEs are naive UTC: read them as text, never through the local zone.
      dateStrings: true,
      supportBigNumbers: true,
      charset: 'utf8mb4',
    });
    return new Kysely<GlanceSchema>({ dialect: new MysqlDialect({ pool }) });
  }
  const pool = new pg.Pool({
    host: target.socket ?? target.host ?? 'localhost',
    port: target.port ?? 5432,
    ...(target.user !== undefined ? { user: target.user } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.connectTimeout === undefined ? {} : { connectionTimeoutMillis: target.connectTimeout * 1000 }),
    database: target.database,
    max: 2,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        PG_TEXT_TYPES.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  return new Kysely<GlanceSchema>({ dialect: new PostgresDialect({ pool }) });
}
