/**
 * A throwaway MariaDB 10.11 server for tests: mariadb-install-db into a temp dir, mariadbd on
 * 127.0.0.1 and a free port (plus a socket in the temp dir), one utf8mb4 database owned by a
 * password user. `--no-defaults` keeps the host's /etc/mysql out of it. stop() kills the
 * server's process group and removes the dir. Durability is relaxed (no binlog, log flushed
 * once a second): the data lives as long as the test.
 *
 * @example
 *   const maria = await startOrSkip(t, startMariadb);
 *   if (maria === undefined) return;
 *   t.after(() => maria.stop());
 *   const db = openDatabase({ url: maria.url }); // mysql+pymysql://…?charset=utf8mb4
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './iris-server.js';
import { abandonStart, assertBinaries, randomPassword, spawnServer, startedServer, waitUntilReady } from './sql-server.js';
import type { ServerProcess, SqlServer } from './sql-server.js';

export const MARIADBD = process.env.IRIS_TEST_MARIADBD ?? '/usr/sbin/mariadbd';
export const MARIADB_INSTALL_DB = process.env.IRIS_TEST_MARIADB_INSTALL_DB ?? '/usr/bin/mariadb-install-db';

/** Starts the server; throws (after cleaning up) when it cannot. */
export async function startMariadb(): Promise<SqlServer> {
  assertBinaries('MariaDB', [MARIADBD, MARIADB_INSTALL_DB]);
  const dir = mkdtempSync(join(tmpdir(), 'iris-maria-'));
  let server: ServerProcess | undefined;
  try {
    const data = join(dir, 'data');
    const socket = join(dir, 'mysqld.sock');
    const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
    try {
      execFileSync(
        MARIADB_INSTALL_DB,
        ['--no-defaults', `--datadir=${data}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
        { stdio: 'pipe' },
      );
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
      throw new Error(`mariadb-install-db failed: ${e.stderr?.toString() ?? ''}${e.stdout?.toString() ?? e.message}`);
    }

    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      server = spawnServer(
        MARIADBD,
        [
          '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1',
          `--user=${user}`, `--pid-file=${join(dir, 'mariadbd.pid')}`, `--tmpdir=${dir}`, '--skip-name-resolve',
          '--skip-log-bin', '--innodb-flush-log-at-trx-commit=2', '--innodb-buffer-pool-size=64M',
          '--innodb-log-file-size=16M', '--max-connections=200', '--character-set-server=utf8mb4',
          '--collation-server=utf8mb4_bin',
        ],
        { cwd: dir },
      );
      try {
        await waitUntilReady(server, 'mariadbd', () => adminQuery(socket, 'select 1'));
        break;
      } catch (err) {
        await server.kill('SIGKILL');
        if (attempt >= 3 || !/Can't start server: Bind on TCP\/IP port|Address already in use/i.test(server.logs())) throw err;
      }
    }

    const dbUser = 'iris';
    const password = randomPassword();
    await adminQuery(socket, `create user '${dbUser}'@'%' identified by '${password}'`);
    const urlOf = (database: string): string =>
      `mysql+pymysql://${dbUser}:${password}@127.0.0.1:${port}/${database}?charset=utf8mb4`;
    const createDatabase = async (name: string): Promise<string> => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await adminQuery(socket, `create database ${name} character set utf8mb4 collate utf8mb4_bin`);
      await adminQuery(socket, `grant all privileges on ${name}.* to '${dbUser}'@'%'`);
      return urlOf(name);
    };
    const database = 'iris';
    const url = await createDatabase(database);
    return startedServer({ engine: 'mariadb', url, host: '127.0.0.1', port, user: dbUser, password, database, dir, createDatabase }, server, 'SIGTERM');
  } catch (err) {
    return abandonStart(server, dir, err);
  }
}

/** One statement as root over the socket (root has an empty password after install-db). */
async function adminQuery(socket: string, text: string): Promise<void> {
  const conn = await mysql.createConnection({ socketPath: socket, user: 'root', password: '' });
  try {
    await conn.query(text);
  } finally {
    await conn.end();
  }
}
