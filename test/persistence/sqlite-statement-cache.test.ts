import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { createSqliteDialect } from '../../src/persistence/sqlite-dialect.js';

interface Db {
  t: { id: number; name: string };
}

/** A handle whose prepare() calls are counted by SQL text. */
function countedHandle(): { sqlite: BetterSqlite3.Database; prepared: Map<string, number> } {
  const sqlite = new BetterSqlite3(':memory:');
  const prepared = new Map<string, number>();
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    prepared.set(source, (prepared.get(source) ?? 0) + 1);
    return prepare(source);
  }) as typeof sqlite.prepare;
  return { sqlite, prepared };
}

test('a query run again reuses its prepared statement, with its new parameters', async () => {
  const { sqlite, prepared } = countedHandle();
  const db = new Kysely<Db>({ dialect: createSqliteDialect(sqlite) });
  try {
    await sql`create table t (id integer primary key, name text not null)`.execute(db);
    for (const [id, name] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) await db.insertInto('t').values({ id, name }).execute();
    const names: string[] = [];
    for (const id of [1, 2, 3]) names.push((await db.selectFrom('t').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name);
    assert.deepEqual(names, ['a', 'b', 'c']);
    const select = [...prepared].filter(([source]) => source.startsWith('select'));
    assert.deepEqual(select.map(([, n]) => n), [1], 'one select text, prepared once for three runs');
    const insert = [...prepared].filter(([source]) => source.startsWith('insert'));
    assert.deepEqual(insert.map(([, n]) => n), [1]);
  } finally {
    await db.destroy();
  }
});

test('a streamed query left early frees its statement for the next run', async () => {
  const { sqlite, prepared } = countedHandle();
  const db = new Kysely<Db>({ dialect: createSqliteDialect(sqlite) });
  try {
    await sql`create table t (id integer primary key, name text not null)`.execute(db);
    await db.insertInto('t').values([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]).execute();
    const query = db.selectFrom('t').select(['id', 'name']).orderBy('id');
    assert.equal((await query.execute()).length, 2);
    // The stream iterates the cached statement; leaving after one row must reset it (else the
    // next run would find it busy, or read on from row 2).
    for await (const row of query.stream()) {
      assert.equal(row.id, 1);
      break;
    }
    assert.deepEqual((await query.execute()).map((r) => r.id), [1, 2]);
    const runs = [...prepared].filter(([source]) => source.startsWith('select')).map(([, n]) => n);
    assert.deepEqual(runs, [1], 'one statement for the runs before and after the stream');
  } finally {
    await db.destroy();
  }
});
