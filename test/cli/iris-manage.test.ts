import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runManage } from '../../src/cli/iris-manage.js';

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

    assert.deepEqual(await run(['--config-file', 'iris.conf', 'db', 'sync'], dir), { code: 0, out: '002-tasks\n', err: '' });
    assert.deepEqual(await run(['--config-file', 'iris.conf', 'db', 'sync'], dir), { code: 0, out: '002-tasks\n', err: '' });
    // The option is also accepted after the subcommand, as glance-manage users type it.
    assert.deepEqual(await run(['db', 'version', '--config-file=iris.conf'], dir), { code: 0, out: '002-tasks\n', err: '' });
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
