/**
 * Parses the SQLAlchemy-style `[database] connection` URL Glance operators write into what
 * Iris's drivers need. The `+driver` part (pymysql, psycopg2, …) names a Python driver and is
 * accepted and ignored: Iris always talks through mysql2, pg or better-sqlite3.
 *
 *   sqlite:///relative/path            sqlite:////absolute/path
 *   postgresql://user:pw@host[:port]/db   postgresql+psycopg2://…   postgres://…
 *   postgresql://user:pw@/db?host=/var/run/postgresql            (unix socket directory)
 *   mysql+pymysql://user:pw@host[:port]/db?charset=utf8mb4          mysql://…   mariadb://…
 *   mysql+pymysql://user:pw@/db?unix_socket=/run/mysqld/mysqld.sock  (unix socket)
 *
 * Throws a plain Error with the reason; the caller adds where the URL came from.
 */
import { isAbsolute, resolve } from 'node:path';

export type SqlEngineName = 'sqlite' | 'postgresql' | 'mysql';

export interface SqliteUrl {
  readonly engine: 'sqlite';
  /** Absolute file path. */
  readonly path: string;
}

export interface ServerUrl {
  readonly engine: 'postgresql' | 'mysql';
  /** TCP host, or undefined for a unix socket (`socket`) or the driver's default. */
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** PostgreSQL: the socket directory; MySQL: the socket file. */
  readonly socket: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string;
  /** PostgreSQL `sslmode` when given (disable, allow, prefer, require, verify-ca, verify-full). */
  readonly sslmode: string | undefined;
  /** PostgreSQL `application_name` when given. */
  readonly applicationName: string | undefined;
  /** Connect timeout in seconds (`connect_timeout`), when given. */
  readonly connectTimeout: number | undefined;
}

export type DatabaseUrl = SqliteUrl | ServerUrl;

const ENGINES: Record<string, SqlEngineName> = {
  sqlite: 'sqlite',
  postgresql: 'postgresql',
  postgres: 'postgresql',
  mysql: 'mysql',
  mariadb: 'mysql',
};

/** Query parameters per engine that Iris reads; `plugin` (devstack's dbcounter) is ignored. */
const PARAMS: Record<'postgresql' | 'mysql', readonly string[]> = {
  postgresql: ['host', 'port', 'sslmode', 'application_name', 'connect_timeout', 'plugin'],
  mysql: ['charset', 'unix_socket', 'connect_timeout', 'plugin'],
};

/** MySQL charsets accepted in the URL. Iris always connects in utf8mb4, a superset of all three. */
const MYSQL_CHARSETS = new Set(['utf8mb4', 'utf8', 'utf8mb3']);

const SUPPORTED = 'expected sqlite:///path, postgresql://user:password@host/db or mysql+pymysql://user:password@host/db';

/** Parses `url`; a relative SQLite path is resolved against `cwd`. */
export function parseDatabaseUrl(url: string, cwd: string): DatabaseUrl {
  const match = /^([a-z][a-z0-9]*)(\+[a-z0-9_]+)?:(.*)$/is.exec(url);
  if (match === null) throw new Error(`${JSON.stringify(url)} is not a database URL (${SUPPORTED})`);
  const scheme = match[1]!.toLowerCase();
  const rest = match[3]!;
  const engine = ENGINES[scheme];
  if (engine === undefined) throw new Error(`database "${scheme}" is not supported (${SUPPORTED})`);
  if (engine === 'sqlite') return { engine, path: sqlitePath(url, rest, cwd) };
  return serverUrl(url, engine, rest);
}

/** A URL safe to log or show: the password replaced by `***`. */
export function redactDatabaseUrl(url: string): string {
  const start = url.indexOf('://');
  if (start === -1) return url;
  const queryAt = url.indexOf('?', start);
  const end = queryAt === -1 ? url.length : queryAt;
  const at = url.lastIndexOf('@', end - 1);
  if (at < start) return url;
  const colon = url.indexOf(':', start + 3);
  if (colon === -1 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

function sqlitePath(url: string, rest: string, cwd: string): string {
  if (!rest.startsWith('///')) {
    if (rest === '//' || rest.startsWith('//?')) {
      throw new Error('in-memory SQLite (sqlite://) is not supported; give a file path as sqlite:///path');
    }
    throw new Error(`${JSON.stringify(url)}: expected sqlite:///relative/path or sqlite:////absolute/path`);
  }
  const path = rest.slice(3);
  if (path.includes('?')) throw new Error(`${JSON.stringify(url)}: query parameters in a sqlite URL are not supported`);
  if (path === '' || path === ':memory:') {
    throw new Error('in-memory SQLite is not supported; give a file path as sqlite:///path');
  }
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}

function decode(part: string, what: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`${redactDatabaseUrl(url)}: the ${what} is not valid percent-encoding`);
  }
}

function serverUrl(url: string, engine: 'postgresql' | 'mysql', rest: string): ServerUrl {
  const shown = redactDatabaseUrl(url);
  if (!rest.startsWith('//')) throw new Error(`${shown}: expected ${engine}://user:password@host/database`);
  const afterSlashes = rest.slice(2);
  const queryAt = afterSlashes.indexOf('?');
  const main = queryAt === -1 ? afterSlashes : afterSlashes.slice(0, queryAt);
  const query = queryAt === -1 ? '' : afterSlashes.slice(queryAt + 1);
  // The password may hold an unencoded '/' or '@' in sloppy URLs: the host starts after the last '@'.
  const at = main.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : main.slice(0, at);
  const hostAndPath = at === -1 ? main : main.slice(at + 1);
  const slash = hostAndPath.indexOf('/');
  const hostPort = slash === -1 ? hostAndPath : hostAndPath.slice(0, slash);
  const database = decode(slash === -1 ? '' : hostAndPath.slice(slash + 1), 'database name', url);
  if (database === '') throw new Error(`${shown}: the URL names no database (…/database)`);

  let user: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name', url);
    password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1), 'password', url);
    if (user === '') user = undefined;
  }

  let host: string | undefined;
  let port: number | undefined;
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (hp === null) throw new Error(`${shown}: cannot read host and port from ${JSON.stringify(hostPort)}`);
  host = hp[1] === '' ? undefined : hp[1]!.replace(/^\[(.*)\]$/, '$1');
  if (hp[2] !== undefined && hp[2] !== '') port = parsePort(hp[2], shown);

  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!PARAMS[engine].includes(key)) {
      throw new Error(`${shown}: query parameter ${key} is not supported for ${engine} (supported: ${PARAMS[engine].join(', ')})`);
    }
  }
  let socket: string | undefined;
  if (engine === 'postgresql') {
    // libpq: a host starting with '/' is a socket directory.
    const qhost = params.get('host') ?? undefined;
    if (qhost !== undefined) {
      if (qhost.startsWith('/')) socket = qhost;
      else host = qhost;
    }
    if (host?.startsWith('/')) {
      socket = host;
      host = undefined;
    }
    const qport = params.get('port');
    if (qport !== null) port = parsePort(qport, shown);
  } else {
    socket = params.get('unix_socket') ?? undefined;
    const charset = params.get('charset');
    if (charset !== null && !MYSQL_CHARSETS.has(charset.toLowerCase())) {
      throw new Error(`${shown}: charset ${charset} is not supported; Iris always uses utf8mb4 (use charset=utf8mb4)`);
    }
  }
  if (socket !== undefined && !isAbsolute(socket)) throw new Error(`${shown}: the unix socket path must be absolute`);
  const timeout = params.get('connect_timeout');
  let connectTimeout: number | undefined;
  if (timeout !== null) {
    connectTimeout = Number(timeout);
    if (!Number.isInteger(connectTimeout) || connectTimeout < 0) throw new Error(`${shown}: connect_timeout must be a whole number of seconds`);
  }
  return {
    engine,
    host,
    port,
    socket,
    user,
    password,
    database,
    sslmode: params.get('sslmode') ?? undefined,
    applicationName: params.get('application_name') ?? undefined,
    connectTimeout,
  };
}

function parsePort(text: string, shown: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`${shown}: port ${text} is not a TCP port`);
  return port;
}
