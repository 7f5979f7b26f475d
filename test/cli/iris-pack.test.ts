/**
 * The published package works outside the repository: `npm pack` makes a tarball with the
 * launchers and the TypeScript sources (and no tests), `npm install <tarball>` into a fresh
 * project links the `iris` bin, and that bin (run directly and through `npx`) prints its usage
 * and talks to a server: the launcher registers tsx, a runtime dependency, so the sources run
 * from node_modules without a build step.
 *
 * The install resolves the dependencies from the npm registry (served from the local npm
 * cache when `npm ci` already filled it: --prefer-offline). It skips install scripts: npm 11
 * runs none without approval anyway, and the CLI needs no native module (better-sqlite3 is the
 * server's).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { localServer, sendJson, type LocalServer } from '../client/local-server.js';

const exec = promisify(execFile);

let work: string;
let project: string;
let stub: LocalServer;

/** The environment of the npm children: no npm_* settings of an enclosing `npm test`. */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_') || k.startsWith('OS_') || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'iris-pack-'));
  project = join(work, 'consumer');
  stub = await localServer((req, res) => {
    if (req.url?.startsWith('/v2/images')) return sendJson(res, 200, { images: [], first: '/v2/images', schema: '/v2/schemas/images' });
    sendJson(res, 404, { message: 'no' });
  });
});

after(async () => {
  await stub?.close();
  rmSync(work, { recursive: true, force: true });
});

test('npm pack, npm install <tarball>, then the iris bin runs from node_modules', { timeout: 300_000 }, async () => {
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT, env: npmEnv(), timeout: 120_000 });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info, packed.stdout);
  const paths = info.files.map((f) => f.path);
  for (const needed of ['package.json', 'bin/iris.js', 'src/cli/iris.ts', 'src/client/index.ts']) {
    assert.ok(paths.includes(needed), `${needed} is in the tarball`);
  }
  assert.deepEqual(paths.filter((p) => p.startsWith('test/') || p.endsWith('.test.ts')), [], 'no tests in the tarball');

  // A consumer project of its own (package.json), so npm installs here and not in a parent.
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'iris-consumer', version: '1.0.0', private: true }));
  const tarball = join(work, info.filename);
  try {
    await exec('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', '--loglevel=error', tarball], {
      cwd: project,
      env: npmEnv(),
      timeout: 240_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`npm install ${tarball} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
  const bin = join(project, 'node_modules', '.bin', 'iris');
  assert.ok(existsSync(bin), 'node_modules/.bin/iris is linked');

  const env = npmEnv({ OS_IMAGE_URL: stub.url, OS_AUTH_TOKEN: 'dummy' });
  const [direct, npx, listed] = await Promise.all([
    exec(bin, ['--help'], { cwd: project, env, timeout: 60_000 }),
    exec('npx', ['--no-install', 'iris', '--help'], { cwd: project, env, timeout: 60_000 }),
    exec(bin, ['image-list', '-f', 'json'], { cwd: project, env, timeout: 60_000 }),
  ]);
  for (const help of [direct, npx]) {
    assert.match(help.stdout, /^Usage: iris \[options\] \[command\]/);
    for (const command of ['image-create', 'image-create-via-import', 'task-list', 'stores-info']) {
      assert.ok(help.stdout.includes(command), `${command} in the usage text:\n${help.stdout}`);
    }
  }
  assert.deepEqual(JSON.parse(listed.stdout), []);
  assert.ok(stub.requests.some((r) => r.url.startsWith('/v2/images')), 'the installed CLI called the server');
});
