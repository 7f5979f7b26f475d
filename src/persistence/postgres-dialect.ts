/**
 * PostgreSQL's side of the seam: Kysely's PostgresDialect over a pg Pool, its error classes
 * and its column types.
 *
 * - int8 (bigint) comes back from pg as a string; Iris's bigints are sizes and epoch
 *   milliseconds, so they are parsed to numbers, exactly up to 2^53 (a larger value is an
 *   error, never a rounded number).
 * - Text that is sorted or compared uses the "C" collation, so names order by code point as
 *   on SQLite and MySQL's utf8mb4_bin, whatever the database's locale.
 * - NULLs sort last ascending in PostgreSQL; ORDER BY spells out SQLite's order instead.
 */
import { PostgresDialect, sql } from 'kysely';
import type { SqlBool } from 'kysely';
import pg from 'pg';
import { ServiceUnavailable } from '../domain/errors.js';
import type { ServerUrl } from './database-url.js';
import { guardDialect } from './guarded-driver.js';
import { maxConnections } from './pool-options.js';
import type { PoolOptions } from './pool-options.js';
import { ForeignKeyViolation, RetryableConflict, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';

const INT8_OID = 20;

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} is beyond what Iris holds exactly (2^53)`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** Node's socket errors when the server cannot be reached or went away. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENOENT']);

/** True when the error means the database cannot be reached now (not a bad query). */
export function isPostgresUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // Class 08: connection exception; 57P01-03: shutting down / cannot connect now; 53300: too many connections.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
    if (SOCKET_ERRORS.has(code)) return true;
  }
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

function translate(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const message = (err as Error | null)?.message ?? String(err);
  if (code === '23505') return new UniqueViolation(message, { cause: err });
  if (code === '23503') return new ForeignKeyViolation(message, { cause: err });
  if (code === '40P01' || code === '40001') return new RetryableConflict(message, { cause: err });
  if (isPostgresUnavailable(err)) {
    return new ServiceUnavailable('The image database cannot be reached; nothing was changed. Try again later.', { cause: err });
  }
  return err;
}

function ssl(sslmode: string | undefined): pg.PoolConfig['ssl'] {
  switch (sslmode) {
    case undefined:
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      throw new Error(`sslmode ${sslmode} is not one of disable, allow, prefer, require, verify-ca, verify-full`);
  }
}

/** The pool behind the dialect (exported for the start-up wait, which probes it directly). */
export function createPostgresPool(url: ServerUrl, pool: PoolOptions): pg.Pool {
  return new pg.Pool({
    host: url.socket ?? url.host,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    ssl: ssl(url.sslmode),
    application_name: url.applicationName ?? 'iris',
    connectionTimeoutMillis: (url.connectTimeout ?? pool.poolTimeout) * 1000,
    max: maxConnections(pool),
    // Connections beyond max_pool_size are the overflow: closed once idle for a while.
    idleTimeoutMillis: 30_000,
    maxLifetimeSeconds: pool.connectionRecycleTime > 0 ? pool.connectionRecycleTime : 0,
    types,
  });
}

export function createPostgresDialect(url: ServerUrl, pool: PoolOptions): PostgresDialect {
  const pgPool = createPostgresPool(url, pool);
  // An idle client whose server went away emits 'error' on the pool; pg drops that client and
  // the next query opens a new connection. Without a listener Node would crash the process.
  pgPool.on('error', () => undefined);
  // A checked-out client whose connection dies emits 'error' too, with no pool listener then:
  // its next query fails (503 via translate) and the pool discards it on release.
  pgPool.on('connect', (client) => client.on('error', () => undefined));
  return guardDialect(new PostgresDialect({ pool: pgPool }), { translate });
}

export const postgresEngine: SqlEngine = {
  name: 'postgresql',
  types: { string: () => sql`text collate "C"`, text: 'text', integer: 'integer', bigint: 'bigint' },
  tableOptions: (table) => table,
  // A cast that fails rejects the row (with invalid_text_representation rather than a check violation).
  isJsonOrNull: (column) => sql`${sql.raw(column)} is null or ${sql.raw(column)}::jsonb is not null`,
  autoIncrementId: (table) => table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()),
  async createSortIndex(db, name, table, columns, nullable) {
    // Forward scans give ASC NULLS FIRST, backward scans DESC NULLS LAST: SQLite's order both ways.
    const keys = columns.map((c) => (nullable.includes(c) ? sql`${sql.ref(c)} nulls first` : sql.ref(c)));
    await sql`create index ${sql.ref(name)} on ${sql.table(table)} (${sql.join(keys)})`.execute(db);
  },
  async createLiveUniqueIndex(db, name, table, columns) {
    await db.schema.createIndex(name).unique().on(table).columns([...columns]).where(sql<SqlBool>`deleted = 0`).execute();
  },
  orderNullable: (dir) => (ob) => (dir === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast()),
  updateReturning: true,
  transactionAttempts: 5,
};
