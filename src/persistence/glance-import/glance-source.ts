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
import { sqlitePathFromUrl } from '../../config/sqlite-url.js';
import type { GlanceSchema } from './glance-schema.js';

export type GlanceEngine = 'sqlite' | 'mysql' | 'postgresql';

/** What a Glance database URL names, with the password kept out of `display`. */
export interface GlanceUrl {
  readonly engine: GlanceEngine;
  /** The URL with its password replaced by `***`, for reports and errors. */
  readonly display: string;
  /** SQLite: the absolute file path. */
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** MySQL `unix_socket`, PostgreSQL `host` query parameter (a socket directory). */
  readonly socket?: string;
}

/** The URL cannot be understood: a usage error (exit code 2). */
export class GlanceUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlanceUrlError';
  }
}

const URL_SHAPE = /^([a-z][a-z0-9]*)(?:\+([a-z0-9_]+))?:\/\/(.*)$/is;

function decode(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new GlanceUrlError(`${url}: bad percent-encoding in ${JSON.stringify(part)}`);
  }
}

/**
 * Parses `sqlite:///relative`, `sqlite:////absolute`, `mysql[+pymysql|+mysqldb]://user:pw@host[:port]/db[?charset=…&unix_socket=…]`
 * and `postgresql[+psycopg2]://user:pw@host[:port]/db[?host=/socket/dir]` (SQLAlchemy's
 * spellings; user and password percent-encoded as SQLAlchemy expects). Relative SQLite paths
 * are relative to `cwd`. Throws GlanceUrlError with the reason.
 *
 * @example parseGlanceUrl('mysql+pymysql://glance:pw@controller/glance', '/')
 */
export function parseGlanceUrl(url: string, cwd: string): GlanceUrl {
  const match = URL_SHAPE.exec(url);
  if (match === null) throw new GlanceUrlError(`${JSON.stringify(url)} is not a SQLAlchemy database URL`);
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'sqlite') {
    try {
      return { engine: 'sqlite', display: url, path: sqlitePathFromUrl(url, cwd) };
    } catch (err) {
      throw new GlanceUrlError((err as Error).message);
    }
  }
  const engine: GlanceEngine | undefined =
    scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : scheme === 'postgresql' || scheme === 'postgres' ? 'postgresql' : undefined;
  if (engine === undefined) {
    throw new GlanceUrlError(`database "${scheme}" is not one Glance runs on (sqlite, mysql, postgresql)`);
  }
  let rest = match[3]!;
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const database = slash >= 0 ? decode(rest.slice(slash + 1), url) : '';
  // The password may hold an encoded '@'; the last '@' ends the credentials.
  const at = authority.lastIndexOf('@');
  const credentials = at >= 0 ? authority.slice(0, at) : '';
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const colon = credentials.indexOf(':');
  const user = colon >= 0 ? credentials.slice(0, colon) : credentials;
  const password = colon >= 0 ? credentials.slice(colon + 1) : undefined;
  const portMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  if (portMatch === null) throw new GlanceUrlError(`${JSON.stringify(hostPort)} is not host[:port]`);
  const host = portMatch[1]!.replace(/^\[(.*)\]$/, '$1');
  const params = new URLSearchParams(query);
  const socket = engine === 'mysql' ? params.get('unix_socket') : params.get('host');
  if (database === '') throw new GlanceUrlError(`${redact(url)} names no database`);
  return {
    engine,
    display: redact(url),
    ...(host !== '' ? { host } : {}),
    ...(portMatch[2] !== undefined ? { port: Number(portMatch[2]) } : {}),
    ...(user !== '' ? { user: decode(user, url) } : {}),
    ...(password !== undefined ? { password: decode(password, url) } : {}),
    database,
    ...(socket !== null && socket !== '' ? { socket } : {}),
  };
}

/** The URL with the password (between `user:` and the last `@` of the authority) masked. */
function redact(url: string): string {
  return url.replace(/^([^:]+:\/\/[^:@/]*:)[^/]*@/, '$1***@');
}

// pg type OIDs read as text: timestamps (naive UTC in Glance) are parsed by the reader, like
// the text SQLite and MySQL (dateStrings) return.
const PG_TEXT_TYPES = new Set([1114, 1184]);

/**
 * Opens the database `url` names, for reading. SQLite files are opened read-only and must
 * exist. The caller destroys the Kysely instance when done.
 */
export function openGlanceDatabase(url: GlanceUrl): Kysely<GlanceSchema> {
  switch (url.engine) {
    case 'sqlite': {
      const sqlite = new BetterSqlite3(url.path!, { readonly: true, fileMustExist: true });
      return new Kysely<GlanceSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
    }
    case 'mysql': {
      const pool = createPool({
        ...(url.socket !== undefined ? { socketPath: url.socket } : { host: url.host ?? 'localhost', port: url.port ?? 3306 }),
        ...(url.user !== undefined ? { user: url.user } : {}),
        ...(url.password !== undefined ? { password: url.password } : {}),
        database: url.database!,
        connectionLimit: 2,
        // Glance's DATETIMEs are naive UTC: read them as text, never through the local zone.
        dateStrings: true,
        supportBigNumbers: true,
        charset: 'utf8mb4',
      });
      return new Kysely<GlanceSchema>({ dialect: new MysqlDialect({ pool }) });
    }
    case 'postgresql': {
      const pool = new pg.Pool({
        host: url.socket ?? url.host ?? 'localhost',
        port: url.port ?? 5432,
        ...(url.user !== undefined ? { user: url.user } : {}),
        ...(url.password !== undefined ? { password: url.password } : {}),
        database: url.database!,
        max: 2,
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            PG_TEXT_TYPES.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      });
      return new Kysely<GlanceSchema>({ dialect: new PostgresDialect({ pool }) });
    }
  }
}
