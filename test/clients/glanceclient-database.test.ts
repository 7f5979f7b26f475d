/**
 * Issue 14's client proof: Iris started with the install guide's `[database]` section, verbatim
 * but for user, password, host (and port) and database name — `connection =
 * mysql+pymysql://glance:GLANCE_DBPASS@controller/glance` pointed at a throwaway MariaDB, and the
 * same line in its `postgresql+psycopg2://` form pointed at a throwaway PostgreSQL — serves the
 * glanceclient lifecycle (create, upload, show, list, download, tag, member, delete). No
 * `iris-manage db sync` first: iris-api migrates at start. The image row is read back from the
 * engine itself, so the test proves the lifecycle ran on that engine and not on SQLite.
 *
 * Without mariadbd / postgres the engine's test SKIPs loudly; with CI=true it fails.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startIris } from '../helpers/iris-server.js';
import { startMariadb } from '../helpers/mariadb-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip, type SqlServer } from '../helpers/sql-server.js';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { glanceAgainst, makeHome, runLifecycle } from './glance-lifecycle.js';

const haveGlance = requireTool('glance', GLANCE);
const STEP = { skip: haveGlance ? false : 'glance not installed (see the SKIP line above)', timeout: 300_000 };

/** The install guide's section, one line, as the operator's glance-api.conf has it. */
function installGuideSection(connection: string): string {
  return `[database]\nconnection = ${connection}\n`;
}

/**
 * The guide's URL with the starter's user, password, host:port and database, keeping the
 * scheme the guide writes for the engine and any query string the starter gives.
 */
function guideUrl(db: SqlServer): string {
  const scheme = db.engine === 'mariadb' ? 'mysql+pymysql' : 'postgresql+psycopg2';
  const query = new URL(db.url.replace(/^[a-z0-9+]+:/, 'http:')).search;
  return `${scheme}://${db.user}:${db.password}@${db.host}:${db.port}/${db.database}${query}`;
}

/** The status and size the engine itself holds for image `id`. */
async function rowOnEngine(db: SqlServer, id: string): Promise<{ status: string; size: number } | undefined> {
  const sql = 'select status, size from images where id = ';
  if (db.engine === 'mariadb') {
    const conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    try {
      const [rows] = await conn.query(`${sql}?`, [id]);
      const row = (rows as { status: string; size: number | string }[])[0];
      return row === undefined ? undefined : { status: row.status, size: Number(row.size) };
    } finally {
      await conn.end();
    }
  }
  const client = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; size: string | number }>(`${sql}$1`, [id]);
    const row = rows[0];
    return row === undefined ? undefined : { status: row.status, size: Number(row.size) };
  } finally {
    await client.end();
  }
}

async function lifecycleOn(t: TestContext, start: () => Promise<SqlServer>): Promise<void> {
  const db = await startOrSkip(t, start);
  if (db === undefined) return;
  const work = mkdtempSync(join(tmpdir(), 'iris-glance-db-'));
  const home = makeHome();
  try {
    const connection = guideUrl(db);
    assert.match(connection, db.engine === 'mariadb' ? /^mysql\+pymysql:\/\// : /^postgresql\+psycopg2:\/\//);
    const conf = join(work, 'glance-api.conf');
    writeFileSync(conf, installGuideSection(connection));
    const iris = await startIris({ args: ['--config-file', conf] });
    try {
      const g = glanceAgainst(iris.baseUrl, home, () => iris.logs());
      const id = await runLifecycle(g, work, {
        async onUploaded(uploaded, data) {
          assert.deepEqual(await rowOnEngine(db, uploaded), { status: 'active', size: data.length }, `image row on ${db.engine}`);
        },
      });
      const row = await rowOnEngine(db, id);
      // Deleted images stay as rows (Glance's soft delete) until db purge.
      assert.ok(row === undefined || row.status === 'deleted', `after image-delete the ${db.engine} row is ${JSON.stringify(row)}`);
    } finally {
      await iris.stop();
    }
  } finally {
    await db.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

test('install guide [database] on MariaDB (mysql+pymysql://): glanceclient lifecycle', STEP, (t) => lifecycleOn(t, startMariadb));

test('install guide [database] on PostgreSQL (postgresql+psycopg2://): glanceclient lifecycle', STEP, (t) => lifecycleOn(t, startPostgres));
