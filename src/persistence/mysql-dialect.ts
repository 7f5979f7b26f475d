/**
 * MySQL/MariaDB's side of the seam: Kysely's MysqlDialect over a mysql2 pool, its error
 * classes and its column types.
 *
 * - Connections always speak utf8mb4 with the binary collation (code-point order and exact
 *   comparison, as SQLite), and tables are created utf8mb4 too: 4-byte UTF-8 round-trips.
 *   (Glance's MySQL tables are 3-byte utf8 and refuse such text; Iris stores it.)
 * - Indexed text is varchar(n) so keys stay within InnoDB's 3072-byte limit (4 bytes a char).
 * - FOUND_ROWS: an UPDATE reports the rows it matched, not only the rows whose values
 *   changed, so a compare-and-swap that writes identical values still counts as done.
 * - bigint: mysql2 returns numbers while they are exact (supportBigNumbers) and strings
 *   beyond 2^53, which Iris never stores.
 * - There is no UPDATE … RETURNING and no partial index (see sql-engine.ts).
 */
import { CompiledQuery, MysqlDialect, sql } from 'kysely';
import type { Pool } from 'mysql2';
import { ServiceUnavailable } from '../domain/errors.js';
import type { ServerUrl } from './database-url.js';
import { guardDialect } from './guarded-driver.js';
import { maxConnections } from './pool-options.js';
import type { PoolOptions } from './pool-options.js';
import { ForeignKeyViolation, RetryableConflict, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';

/** Client-side and server errors meaning the database cannot be reached now. */
const UNAVAILABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENOENT', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED', 'ER_CLIENT_INTERACTION_TIMEOUT',
]);
/** 2002/2003 cannot connect, 2006 gone away, 2013 lost during query, 1053 shutdown, 1040 too many, 1927 killed. */
const UNAVAILABLE_ERRNOS = new Set([2002, 2003, 2006, 2013, 1053, 1040, 1927, 4031]);

export function isMysqlUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; fatal?: unknown } | null;
  if (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  return typeof e?.errno === 'number' && UNAVAILABLE_ERRNOS.has(e.errno);
}

function translate(err: unknown): unknown {
  const errno = (err as { errno?: unknown } | null)?.errno;
  const message = (err as Error | null)?.message ?? String(err);
  if (errno === 1062) return new UniqueViolation(message, { cause: err });
  if (errno === 1451 || errno === 1452) return new ForeignKeyViolation(message, { cause: err });
  // 1213: deadlock (also Galera's certification failure); 1205: lock wait timeout.
  if (errno === 1213 || errno === 1205) return new RetryableConflict(message, { cause: err });
  if (isMysqlUnavailable(err)) {
    return new ServiceUnavailable('The image database cannot be reached; nothing was changed. Try again later.', { cause: err });
  }
  return err;
}

/**
 * mysql2 is loaded on first connection, not at start: it holds ~7 MiB of memory in a process
 * that runs SQLite or PostgreSQL.
 */
export async function createMysqlPool(url: ServerUrl, pool: PoolOptions): Promise<Pool> {
  const { createPool } = await import('mysql2');
  return createPool({
    host: url.socket === undefined ? (url.host ?? 'localhost') : undefined,
    port: url.port,
    socketPath: url.socket,
    user: url.user,
    password: url.password,
    database: url.database,
    charset: 'UTF8MB4_BIN',
    supportBigNumbers: true,
    bigNumberStrings: false,
    flags: ['FOUND_ROWS'],
    connectTimeout: (url.connectTimeout ?? pool.poolTimeout) * 1000,
    connectionLimit: maxConnections(pool),
    // Idle connections above max_pool_size are the overflow; closed after connection_recycle_time at most.
    maxIdle: pool.maxPoolSize === 0 ? maxConnections(pool) : pool.maxPoolSize,
    idleTimeout: Math.max(1, Math.min(pool.connectionRecycleTime, 60)) * 1000,
    enableKeepAlive: true,
  });
}

export function createMysqlDialect(url: ServerUrl, pool: PoolOptions): MysqlDialect {
  return guardDialect(
    new MysqlDialect({
      pool: () => createMysqlPool(url, pool),
      async onCreateConnection(connection) {
        // oslo.db sets the session sql_mode on every connection (TRADITIONAL: invalid or
        // truncated values are errors, not warnings); '' keeps the server's own mode.
        if (pool.mysqlSqlMode !== '') {
          await connection.executeQuery(CompiledQuery.raw('SET SESSION sql_mode = ?', [pool.mysqlSqlMode]));
        }
      },
    }),
    // mysql2's pool queues without limit: pool_timeout bounds the wait here.
    { translate, acquireTimeoutMs: pool.poolTimeout * 1000 },
  );
}

export const mysqlEngine: SqlEngine = {
  name: 'mysql',
  types: { string: (length) => sql`varchar(${sql.raw(String(length))})`, text: sql`longtext`, integer: 'integer', bigint: 'bigint' },
  tableOptions: (table) => table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`),
  isJsonOrNull: (column) => sql`${sql.raw(column)} is null or json_valid(${sql.raw(column)})`,
  autoIncrementId: (table) => table.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement()),
  async createSortIndex(db, name, table, columns) {
    await db.schema.createIndex(name).on(table).columns([...columns]).execute();
  },
  async createLiveUniqueIndex(db, name, table, columns) {
    // NULL for soft-deleted rows, which therefore never collide in the unique key.
    const liveColumn = `${name}_live`;
    await sql`alter table ${sql.table(table)} add column ${sql.ref(liveColumn)} tinyint as (case when deleted = 0 then 1 end) persistent`.execute(db);
    await db.schema.createIndex(name).unique().on(table).columns([...columns, liveColumn]).execute();
  },
  orderNullable: (dir) => dir,
  updateReturning: false,
  transactionAttempts: 5,
};
