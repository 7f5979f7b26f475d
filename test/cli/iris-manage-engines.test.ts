/**
 * iris-manage db sync|version|check|purge on PostgreSQL and MariaDB (throwaway servers), and
 * the refusals iris-api and iris-manage share on every engine: Glance's schema (naming
 * import-glance-db) and a schema newer than the code.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { runManage } from '../../src/cli/iris-manage.js';
import { openDatabase } from '../../src/persistence/database.js';
import { runIris } from '../helpers/run-iris.js';
import { testEngines } from '../persistence/test-engines.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iris-manage-engines-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manage(url: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const conf = join(dir, `${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(conf, `[database]\nconnection = ${url}\nmax_retries = 0\n`);
  let out = '';
  let err = '';
  const code = await runManage(['--config-file', conf, ...argv], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {}, cwd: dir });
  return { code, out, err };
}

for (const engine of (await testEngines()).filter((e) => e.name !== 'sqlite')) {
  describe(`iris-manage on ${engine.name}`, { skip: engine.skip }, () => {
    test('db version, check, sync, purge', async () => {
      const url = await engine.server!.createDatabase('managed');
      assert.deepEqual(await manage(url, ['db', 'version']), { code: 0, out: 'None\n', err: '' });
      assert.deepEqual(await manage(url, ['db', 'check']), { code: 3, out: 'Your database is not up to date. Run `iris-manage db sync`.\n', err: '' });
      assert.deepEqual(await manage(url, ['db', 'sync']), { code: 0, out: 'Database is synced successfully.\n', err: '' });
      assert.deepEqual(await manage(url, ['db_sync']), { code: 0, out: 'Database is up to date. No migrations needed.\n', err: '' });
      assert.deepEqual(await manage(url, ['db', 'version']), { code: 0, out: '007-quota\n', err: '' });
      assert.deepEqual(await manage(url, ['db', 'check']), { code: 0, out: 'Database is up to date. No upgrades needed.\n', err: '' });
      assert.deepEqual(await manage(url, ['db', 'purge', '--age-in-days', '30', '--max-rows', '-1']), {
        code: 0,
        out:
          'Purged 0 row(s) older than 30 day(s) from table image_locations\n' +
          'Purged 0 row(s) older than 30 day(s) from table image_members\n' +
          'Purged 0 row(s) older than 30 day(s) from table tasks\n',
        err: '',
      });
      const bad = await manage(url, ['db', 'purge', '--age-in-days', '-1']);
      assert.equal(bad.code, 2);
      assert.equal(bad.err, 'iris-manage: Must supply a non-negative value for age.\n');
    });

    test("a database holding Glance's schema is refused, naming import-glance-db; so is a newer schema", async () => {
      const glanceUrl = await engine.server!.createDatabase('glancelike');
      const glance = openDatabase({ url: glanceUrl });
      try {
        await sql`create table alembic_version (version_num varchar(32) not null primary key)`.execute(glance.db);
        await sql`insert into alembic_version values ('2024_1_contract01')`.execute(glance.db);
        await sql`create table images (id varchar(36) not null primary key)`.execute(glance.db);
      } finally {
        await glance.close();
      }
      const shown = glanceUrl.replace(/:[^:@/]+@/, ':***@');
      const refused = await manage(glanceUrl, ['db', 'sync']);
      assert.equal(refused.code, 2);
      assert.equal(
        refused.err,
        `iris-manage: ${shown} is a Glance database (revision 2024_1_contract01) with Glance's images table: Iris cannot use it in place; point [database] connection at a new database and copy the images with iris-manage import-glance-db\n`,
      );
      assert.ok(!refused.err.includes(engine.server!.password), 'the password is never shown');
      const api = await runIris([], { IRIS_DATA_DIR: dir, IRIS__DATABASE__CONNECTION: glanceUrl, IRIS__DATABASE__MAX_RETRIES: '0' });
      assert.equal(api.served, false);
      assert.equal(api.code, 2);
      assert.match(api.stderr, /^iris: \[database\] connection: .* is a Glance database .*import-glance-db\n$/);

      const newerUrl = await engine.server!.createDatabase('newer');
      assert.equal((await manage(newerUrl, ['db', 'sync'])).code, 0);
      const newer = openDatabase({ url: newerUrl });
      try {
        await newer.db.insertInto('kysely_migration' as never).values({ name: '999-future', timestamp: new Date().toISOString() } as never).execute();
      } finally {
        await newer.close();
      }
      const tooNew = await manage(newerUrl, ['db', 'sync']);
      assert.equal(tooNew.code, 2);
      assert.match(tooNew.err, /schema is newer than this Iris.*999-future/);
      assert.equal((await manage(newerUrl, ['db', 'check'])).code, 2);
      const apiNewer = await runIris([], { IRIS_DATA_DIR: dir, IRIS__DATABASE__CONNECTION: newerUrl, IRIS__DATABASE__MAX_RETRIES: '0' });
      assert.equal(apiNewer.served, false);
      assert.equal(apiNewer.code, 2);
      assert.match(apiNewer.stderr, /schema is newer than this Iris/);
    });
  });
}
