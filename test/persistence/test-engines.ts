/**
 * The engines the repository contract suite runs on: SQLite always; PostgreSQL 15 and
 * MariaDB 10.11 as throwaway servers started once per test file (test/helpers/*-server.ts),
 * each test group getting its own fresh database on them. `IRIS_TEST_ENGINES=sqlite,mariadb`
 * narrows the list. A server that cannot start makes its engine's groups SKIP loudly, or
 * fails the file when CI=true.
 *
 * @example
 *   for (const engine of await testEngines()) {
 *     describe(engine.name, { skip: engine.skip }, () => { … createTestDb(engine.server) … });
 *   }
 */
import { after } from 'node:test';
import { startMariadb } from '../helpers/mariadb-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import type { SqlServer } from '../helpers/sql-server.js';

export type TestEngineName = 'sqlite' | 'postgresql' | 'mariadb';

export interface TestEngine {
  readonly name: TestEngineName;
  /** The server for a server engine (undefined for SQLite, or when skipped). */
  readonly server: SqlServer | undefined;
  /** The reason the engine's tests are skipped, or false. */
  readonly skip: string | false;
}

const STARTERS: Record<Exclude<TestEngineName, 'sqlite'>, () => Promise<SqlServer>> = {
  postgresql: startPostgres,
  mariadb: startMariadb,
};

let engines: Promise<TestEngine[]> | undefined;

/** Starts the servers (once per process) and stops them after the file's tests. */
export function testEngines(): Promise<TestEngine[]> {
  engines ??= startAll();
  return engines;
}

async function startAll(): Promise<TestEngine[]> {
  const wanted = (process.env.IRIS_TEST_ENGINES ?? 'sqlite,postgresql,mariadb')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  // Both servers start at once: each takes a few seconds, mostly waiting.
  return Promise.all(wanted.map(startOne));
}

async function startOne(name: string): Promise<TestEngine> {
  if (name === 'sqlite') return { name, server: undefined, skip: false };
  if (name !== 'postgresql' && name !== 'mariadb') throw new Error(`IRIS_TEST_ENGINES: unknown engine ${name}`);
  try {
    const server = await STARTERS[name]();
    after(() => server.stop());
    return { name, server, skip: false };
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`${name} could not be started — CI=true, so this is a failure: ${(err as Error).message}`, { cause: err });
    }
    const reason = `${name} could not be started: ${(err as Error).message.split('\n')[0]}`;
    console.error(`\n*** SKIP: ${reason} ***\n`);
    return { name, server: undefined, skip: reason };
  }
}
