import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runManage } from '../../src/cli/iris-manage.js';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { runIris } from '../helpers/run-iris.js';
import { requireTool } from '../helpers/tools.js';

async function run(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runManage(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: {},
    cwd,
  });
  return { code, out, err };
}

test('db version / db sync against the configured database', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-'));
  try {
    const dbPath = join(dir, 'data', 'iris.sqlite');
    await writeFile(join(dir, 'iris.conf'), `[database]\nconnection = sqlite:///${dbPath}\n`);

    assert.deepEqual(await run(['--config-file', 'iris.conf', 'db', 'version'], dir), { code: 0, out: 'None\n', err: '' });
    assert.equal(existsSync(dbPath), false, 'db version must not create the database');

    assert.deepEqual(await run(['--config-file', 'iris.conf', 'db', 'sync'], dir), { code: 0, out: 'Database is synced successfully.\n', err: '' });
    assert.deepEqual(await run(['--config-file', 'iris.conf', 'db', 'sync'], dir), {
      code: 0,
      out: 'Database is up to date. No migrations needed.\n',
      err: '',
    });
    // The option is also accepted after the subcommand, as glance-manage users type it.
    assert.deepEqual(await run(['db', 'version', '--config-file=iris.conf'], dir), { code: 0, out: '007-quota\n', err: '' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a configuration error is reported on stderr with exit code 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-'));
  try {
    const { code, out, err } = await run(['--config-file', 'missing.conf', 'db', 'version'], dir);
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.match(err, /^iris-manage: .*missing\.conf/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unknown command is a usage error', async () => {
  const { code, err } = await run(['db', 'frobnicate'], tmpdir());
  assert.notEqual(code, 0);
  assert.match(err, /unknown command/);
});

test("glance-manage's spellings: db_sync, db_version, db upgrade, db_upgrade", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-'));
  try {
    await writeFile(join(dir, 'iris.conf'), `[database]\nconnection = sqlite:///${join(dir, 'iris.sqlite')}\n`);
    const conf = ['--config-file', 'iris.conf'];
    assert.deepEqual(await run([...conf, 'db_version'], dir), { code: 0, out: 'None\n', err: '' });
    assert.deepEqual(await run([...conf, 'db', 'upgrade'], dir), { code: 0, out: 'Upgraded database, current revision(s): 007-quota\n', err: '' });
    assert.deepEqual(await run(['db_sync', ...conf], dir), { code: 0, out: 'Database is up to date. No migrations needed.\n', err: '' });
    assert.deepEqual(await run([...conf, 'db_upgrade'], dir), { code: 0, out: 'Upgraded database, current revision(s): 007-quota\n', err: '' });
    assert.deepEqual(await run([...conf, 'db_version'], dir), { code: 0, out: '007-quota\n', err: '' });
    await rm(join(dir, 'iris.sqlite'));
    assert.deepEqual(await run([...conf, 'db_sync'], dir), { code: 0, out: 'Database is synced successfully.\n', err: '' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const GLANCE_MANAGE = '/usr/bin/glance-manage';
const haveGlanceManage = requireTool('glance-manage', GLANCE_MANAGE);

test('a database made by the real Glance is named, left alone, and refused with exit 2', { skip: !haveGlanceManage && 'glance-manage not installed' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-glance-'));
  try {
    const db = join(dir, 'glance.sqlite');
    await writeFile(join(dir, 'glance-api.conf'), `[database]\nconnection = sqlite:///${db}\n`);
    const made = spawnSync(GLANCE_MANAGE, ['--config-file', join(dir, 'glance-api.conf'), '--log-file', join(dir, 'manage.log'), 'db_sync'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir },
    });
    assert.equal(made.status, 0, made.stderr);
    const before = readFileSync(db);
    const expected = new RegExp(
      `^iris-manage: ${db} is a Glance database \\(revision \\w+\\) with Glance's images table: Iris cannot use it in place; point \\[database\\] connection at a new database and copy the images with iris-manage import-glance-db\n$`,
    );
    for (const command of [['db', 'sync'], ['db_sync'], ['db', 'version'], ['db', 'upgrade'], ['db', 'check'], ['db', 'purge']]) {
      const r = await run(['--config-file', 'glance-api.conf', ...command], dir);
      assert.equal(r.code, 2, command.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, expected);
    }
    // iris-api refuses it too, before serving, with the option named.
    const api = await runIris(['--config-file', join(dir, 'glance-api.conf')], { IRIS_DATA_DIR: dir }, REPO_ROOT);
    assert.equal(api.served, false);
    assert.equal(api.code, 2);
    assert.match(api.stderr, new RegExp(`^iris: \\[database\\] connection: ${db} is a Glance database .*\n$`));
    assert.deepEqual(readFileSync(db), before, 'the Glance database is not modified');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a database with tables that are not Iris\'s is refused with exit 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-other-'));
  try {
    const db = join(dir, 'other.sqlite');
    const made = spawnSync('python3', ['-c', `import sqlite3; c = sqlite3.connect(${JSON.stringify(db)}); c.execute('create table images (id text)'); c.commit()`]);
    assert.equal(made.status, 0, String(made.stderr));
    await writeFile(join(dir, 'iris.conf'), `[database]\nconnection = sqlite:///${db}\n`);
    const r = await run(['--config-file', 'iris.conf', 'db', 'sync'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.err, `iris-manage: ${db} is not an Iris database (it has tables images but no Iris schema): Iris cannot use it in place; point [database] connection at a new database\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--config-dir is read as iris-api reads it, after the --config-file before it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iris-manage-dir-'));
  try {
    await writeFile(join(dir, 'iris.conf'), `[database]\nconnection = sqlite:///${join(dir, 'ignored.sqlite')}\n`);
    await mkdir(join(dir, 'conf.d'));
    await writeFile(join(dir, 'conf.d', '50-db.conf'), `[database]\nconnection = sqlite:///${join(dir, 'chosen.sqlite')}\n`);
    const r = await run(['--config-file', 'iris.conf', '--config-dir', 'conf.d', 'db', 'sync'], dir);
    assert.deepEqual(r, { code: 0, out: 'Database is synced successfully.\n', err: '' });
    assert.equal(existsSync(join(dir, 'chosen.sqlite')), true);
    assert.equal(existsSync(join(dir, 'ignored.sqlite')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
