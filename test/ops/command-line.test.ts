import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { runIris } from '../helpers/run-iris.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iris-args-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const args of [['--config_file', 'x.conf'], ['-c', 'x.conf'], ['x.conf'], ['--config-dir'], ['--bind-host', '0.0.0.0']]) {
  test(`iris-api ${args.join(' ')}: usage error, exit 2, nothing served`, async (t) => {
    const dir = tempDir(t);
    const r = await runIris(args, { IRIS_DATA_DIR: dir });
    assert.equal(r.served, false, 'must not start a server');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, /Usage: iris-api/);
    assert.equal(r.stdout, '');
  });
}

test('iris-api --help prints usage and exits 0', async (t) => {
  const r = await runIris(['--help'], { IRIS_DATA_DIR: tempDir(t) });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: iris-api/);
  assert.match(r.stdout, /--config-file <path>/);
  assert.match(r.stdout, /--config-dir <dir>/);
  assert.equal(r.stderr, '');
});

test('iris-api --version prints the package version and exits 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await runIris(['--version'], { IRIS_DATA_DIR: tempDir(t) });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${version}\n`);
});

test('--config-dir reads the directory\'s *.conf files in sorted order, after the --config-file before it', async (t) => {
  const dir = tempDir(t);
  const confDir = join(dir, 'conf.d');
  mkdirSync(confDir);
  writeFileSync(join(dir, 'main.conf'), '[DEFAULT]\napi_limit_max = 1\n');
  writeFileSync(join(confDir, '20-bad.conf'), '[DEFAULT]\napi_limit_max = not-a-number\n');
  writeFileSync(join(confDir, '10-first.conf'), '[DEFAULT]\napi_limit_max = 2\n');
  writeFileSync(join(confDir, 'ignored.txt'), 'this is not ini\n');
  // The last file to set api_limit_max (20-bad.conf) is the one whose value is checked.
  const r = await runIris(['--config-file', join(dir, 'main.conf'), '--config-dir', confDir], { IRIS_DATA_DIR: dir });
  assert.equal(r.served, false);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /20-bad\.conf:2/);
  const missing = await runIris(['--config-dir', join(dir, 'nope')], { IRIS_DATA_DIR: dir });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /configuration directory .*nope/);
});

test('a store option Glance refuses stops the start with one line naming the option and where it is', async (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'glance-api.conf'),
    '[glance_store]\nstores = file,swift\ndefault_store = file\nswift_store_auth_address = http://127.0.0.1:1/auth/v1.0\nswift_store_user = test:tester\nswift_store_key = testing\nswift_store_auth_version = 1\nswift_store_container = a/b\n',
  );
  const r = await runIris(['--config-file', join(dir, 'glance-api.conf')], { IRIS_DATA_DIR: dir });
  assert.equal(r.served, false);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `iris: Invalid value for [glance_store] swift_store_container (${join(dir, 'glance-api.conf')}:8): must be a container name (not empty, no "/")\n`,
  );
});
