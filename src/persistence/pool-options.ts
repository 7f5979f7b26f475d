/**
 * Glance's (oslo.db's) `[database]` pool options, in the units the drivers take them.
 * Defaults are oslo.db's; SQLite ignores them (one in-process handle).
 */
export interface PoolOptions {
  /** Connections kept open (`max_pool_size`); 0 means no limit. */
  readonly maxPoolSize: number;
  /** Extra connections opened under load and closed when idle (`max_overflow`). */
  readonly maxOverflow: number;
  /** Seconds a request waits for a free connection before failing (`pool_timeout`). */
  readonly poolTimeout: number;
  /** Seconds after which a connection is replaced (`connection_recycle_time`). */
  readonly connectionRecycleTime: number;
  /** MySQL/MariaDB session sql_mode (`mysql_sql_mode`); '' keeps the server's. */
  readonly mysqlSqlMode: string;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = {
  maxPoolSize: 5,
  maxOverflow: 50,
  poolTimeout: 30,
  connectionRecycleTime: 3600,
  mysqlSqlMode: 'TRADITIONAL',
};

/** The most connections open at once: pool plus overflow (a large bound for "no limit"). */
export function maxConnections(opts: PoolOptions): number {
  return opts.maxPoolSize === 0 ? 1000 : opts.maxPoolSize + opts.maxOverflow;
}
