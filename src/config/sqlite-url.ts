import { isAbsolute, resolve } from 'node:path';

/**
 * Resolves a SQLAlchemy-style `[database] connection` URL to the absolute SQLite file it
 * names, so operators can keep Glance's URL spelling: `sqlite:///relative/path` is relative
 * to `cwd`, `sqlite:////absolute/path` is absolute. A `+driver` suffix (`sqlite+pysqlite`)
 * is accepted and ignored. Throws a plain Error with the reason for anything else
 * (PostgreSQL, MySQL, in-memory databases, query parameters); the caller adds the location.
 */
export function sqlitePathFromUrl(url: string, cwd: string): string {
  const match = /^([a-z][a-z0-9]*)(\+[a-z0-9_]+)?:(.*)$/is.exec(url);
  if (match === null) {
    throw new Error(`${JSON.stringify(url)} is not a database URL (expected sqlite:///path or sqlite:////absolute/path)`);
  }
  // Groups 1 and 3 always participate in a match.
  const scheme = match[1]!.toLowerCase();
  const rest = match[3]!;
  if (scheme === 'postgresql' || scheme === 'postgres') {
    throw new Error('PostgreSQL is not supported yet; use a sqlite:/// URL');
  }
  if (scheme !== 'sqlite') {
    throw new Error(`database "${scheme}" is not supported; use a sqlite:/// URL`);
  }
  if (!rest.startsWith('///')) {
    if (rest === '//' || rest.startsWith('//?')) {
      throw new Error('in-memory SQLite (sqlite://) is not supported; give a file path as sqlite:///path');
    }
    throw new Error(`${JSON.stringify(url)}: expected sqlite:///relative/path or sqlite:////absolute/path`);
  }
  const path = rest.slice(3);
  if (path.includes('?')) {
    throw new Error(`${JSON.stringify(url)}: query parameters in the database URL are not supported`);
  }
  if (path === '' || path === ':memory:') {
    throw new Error('in-memory SQLite is not supported; give a file path as sqlite:///path');
  }
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}
