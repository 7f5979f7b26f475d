/**
 * The throwaway SQL servers start, accept their URL's user and password over TCP, and leave
 * nothing behind (process and temp dir) after stop().
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startMariadb } from './mariadb-server.js';
import { startPostgres } from './postgres-server.js';
import { startOrSkip } from './sql-server.js';

test('startPostgres: a password user reaches its database over 127.0.0.1; stop removes everything', async (t) => {
  const server = await startOrSkip(t, startPostgres);
  if (server === undefined) return;
  t.after(() => server.stop());
  assert.match(server.url, /^postgresql:\/\/iris:[^@]+@127\.0\.0\.1:\d+\/iris$/);
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
  await client.connect();
  const { rows } = await client.query<{ db: string; v: string }>('select current_database() as db, version() as v');
  await client.end();
  assert.equal(rows[0]?.db, 'iris');
  assert.match(rows[0]?.v ?? '', /PostgreSQL 15/);
  const other = await server.createDatabase('second');
  assert.match(other, /\/second$/);
  assert.ok(existsSync(server.dir));
  await server.stop();
  assert.equal(existsSync(server.dir), false);
  await assert.rejects(async () => {
    const late = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database, connectionTimeoutMillis: 2000 });
    await late.connect();
  });
});

test('startMariadb: a password user reaches its utf8mb4 database over 127.0.0.1; stop removes everything', async (t) => {
  const server = await startOrSkip(t, startMariadb);
  if (server === undefined) return;
  t.after(() => server.stop());
  assert.match(server.url, /^mysql\+pymysql:\/\/iris:[^@]+@127\.0\.0\.1:\d+\/iris\?charset=utf8mb4$/);
  const conn = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
  const [rows] = await conn.query('select database() as db, version() as v, @@character_set_database as cs');
  await conn.end();
  const row = (rows as { db: string; v: string; cs: string }[])[0];
  assert.equal(row?.db, 'iris');
  assert.match(row?.v ?? '', /MariaDB/);
  assert.equal(row?.cs, 'utf8mb4');
  assert.ok(existsSync(server.dir));
  await server.stop();
  assert.equal(existsSync(server.dir), false);
  await assert.rejects(mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, connectTimeout: 2000 }));
});
