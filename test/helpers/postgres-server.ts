/**
 * A throwaway PostgreSQL 15 server for tests: initdb in a temp dir, postgres on 127.0.0.1 and
 * a free port, one database owned by a password user. initdb refuses to run as root, so both
 * run as the `postgres` system user (runuser) in a temp dir it owns; stop() kills the server's
 * process group and removes the dir. Durability is off (fsync, synchronous_commit): the data
 * lives as long as the test.
 *
 * @example
 *   const pg = await startOrSkip(t, startPostgres);
 *   if (pg === undefined) return;
 *   t.after(() => pg.stop());
 *   const db = openDatabase({ url: pg.url });
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './iris-server.js';
import { abandonStart, assertBinaries, randomPassword, spawnServer, startedServer, waitUntilReady } from './sql-server.js';
import type { ServerProcess, SqlServer } from './sql-server.js';

export const POSTGRES_BIN = process.env.IRIS_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const RUNUSER = '/usr/sbin/runuser';
const SYSTEM_USER = 'postgres';

function systemUserIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', SYSTEM_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', SYSTEM_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Runs `bin` as the postgres system user when we are root, else as ourselves. */
function asPostgres(bin: string, args: readonly string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [RUNUSER, ['-u', SYSTEM_USER, '--', bin, ...args]] : [bin, [...args]];
}

/** Starts the server; throws (after cleaning up) when it cannot. */
export async function startPostgres(): Promise<SqlServer> {
  const root = process.getuid?.() === 0;
  assertBinaries('PostgreSQL', [join(POSTGRES_BIN, 'initdb'), join(POSTGRES_BIN, 'postgres'), ...(root ? [RUNUSER] : [])]);
  const dir = mkdtempSync(join(tmpdir(), 'iris-pg-'));
  let server: ServerProcess | undefined;
  try {
    const data = join(dir, 'data');
    const sockets = join(dir, 'sock');
    mkdirSync(sockets);
    if (root) {
      const { uid, gid } = systemUserIds();
      chownSync(dir, uid, gid);
      chownSync(sockets, uid, gid);
    }
    const [initCmd, initArgs] = asPostgres(join(POSTGRES_BIN, 'initdb'), [
      '-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8',
      '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync',
    ]);
    try {
      execFileSync(initCmd, initArgs, { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`initdb failed: ${e.stderr?.toString() ?? e.message}`);
    }

    // A free port can be taken between freePort() and postgres binding it: retry on a new one.
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      const [cmd, args] = asPostgres(join(POSTGRES_BIN, 'postgres'), [
        '-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', sockets,
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=100', '-c', 'shared_buffers=32MB',
      ]);
      server = spawnServer(cmd, args, { cwd: dir });
      try {
        await waitUntilReady(server, 'postgres', () => query(sockets, port, 'postgres', 'select 1'));
        break;
      } catch (err) {
        await server.kill('SIGKILL');
        if (attempt >= 3 || !/could not (bind|create listen)/i.test(server.logs())) throw err;
      }
    }

    const user = 'iris';
    const password = randomPassword();
    await query(sockets, port, 'postgres', `create role ${user} login password '${password}'`);
    const urlOf = (database: string): string => `postgresql://${user}:${password}@127.0.0.1:${port}/${database}`;
    const createDatabase = async (name: string): Promise<string> => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await query(sockets, port, 'postgres', `create database ${name} owner ${user} encoding 'UTF8'`);
      return urlOf(name);
    };
    const database = 'iris';
    const url = await createDatabase(database);
    // SIGINT: PostgreSQL's fast shutdown (it releases its shared memory), then SIGKILL.
    return startedServer({ engine: 'postgresql', url, host: '127.0.0.1', port, user, password, database, dir, createDatabase }, server, 'SIGINT');
  } catch (err) {
    return abandonStart(server, dir, err);
  }
}

/** One statement as the superuser over the unix socket (trust), on a fresh connection. */
async function query(sockets: string, port: number, database: string, text: string): Promise<void> {
  const client = new pg.Client({ host: sockets, port, user: 'postgres', database });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
