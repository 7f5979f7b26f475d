/** The [database] section's rows of the option table (see ../config-options.ts). */
import { join } from 'node:path';
import { parseDatabaseUrl } from '../../persistence/database-url.js';
import type { ConfigOption, OptionContext } from '../option-types.js';

export const DATABASE_OPTIONS = [
  {
    section: 'database',
    name: 'connection',
    type: 'string',
    default: (ctx: OptionContext) => `sqlite:///${join(ctx.dataDir, 'iris.sqlite')}`,
    defaultText: 'sqlite:///<data_dir>/iris.sqlite',
    help:
      'SQLAlchemy-style URL of the database, as Glance spells it. SQLite: sqlite:///relative/path (relative ' +
      'to the working directory) or sqlite:////absolute/path. PostgreSQL: postgresql://user:password@host[:port]/db ' +
      '(also postgres://, postgresql+psycopg2://; a unix socket as ?host=/var/run/postgresql). MySQL/MariaDB: ' +
      'mysql+pymysql://user:password@host[:port]/db?charset=utf8mb4 (also mysql://, mariadb://; a unix socket ' +
      'as ?unix_socket=/path). The +driver part is accepted and ignored; percent-encode special characters in ' +
      'the password. Iris always talks utf8mb4 to MySQL/MariaDB (charset=utf8 is accepted). The default is ' +
      'iris.sqlite in data_dir.',
    convert: (value: string, ctx: OptionContext) => {
      parseDatabaseUrl(value, ctx.cwd);
      return value;
    },
  },
  {
    section: 'database',
    name: 'max_pool_size',
    type: 'integer',
    default: '5',
    min: 0,
    help:
      'PostgreSQL and MySQL/MariaDB: connections each API process keeps open. 0 means no limit. Ignored for ' +
      'SQLite (one in-process handle).',
  },
  {
    section: 'database',
    name: 'max_overflow',
    type: 'integer',
    default: '50',
    min: 0,
    help:
      'PostgreSQL and MySQL/MariaDB: extra connections opened under load beyond max_pool_size and closed once ' +
      'idle, so a process holds at most max_pool_size + max_overflow connections.',
  },
  {
    section: 'database',
    name: 'pool_timeout',
    type: 'integer',
    default: '30',
    min: 1,
    help:
      'PostgreSQL and MySQL/MariaDB: seconds a request waits for a free pooled connection (and for a new ' +
      'connection to open) before it fails with 503. Glance leaves it unset, which means SQLAlchemy\'s 30 seconds.',
  },
  {
    section: 'database',
    name: 'connection_recycle_time',
    type: 'integer',
    default: '3600',
    min: 0,
    help:
      'PostgreSQL: seconds after which a pooled connection is closed and replaced (0 = never). MySQL/MariaDB: ' +
      'idle connections beyond max_pool_size are closed after at most min(this, 60) seconds.',
  },
  {
    section: 'database',
    name: 'max_retries',
    type: 'integer',
    default: '10',
    min: -1,
    help:
      'PostgreSQL and MySQL/MariaDB: how many more times iris-api and iris-manage try to reach the database at ' +
      'start before giving up; -1 tries forever.',
  },
  {
    section: 'database',
    name: 'retry_interval',
    type: 'integer',
    default: '10',
    min: 0,
    help: 'Seconds between the start-up attempts to reach the database (see max_retries).',
  },
  {
    section: 'database',
    name: 'mysql_sql_mode',
    type: 'string',
    default: 'TRADITIONAL',
    help:
      'MySQL/MariaDB: the sql_mode set on every connection. TRADITIONAL makes invalid or truncated values ' +
      'errors instead of warnings. Empty keeps the server\'s own mode.',
  },
] as const satisfies readonly ConfigOption[];
