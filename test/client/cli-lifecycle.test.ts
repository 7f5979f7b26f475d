/**
 * The `iris` CLI (`node bin/iris.js`, a child process) against a live Iris: the lifecycle a
 * glanceclient user types, glanceclient's tables by default, `-f json`/`value` for scripts,
 * one-line errors with non-zero exits, help. Each CLI start costs about a second (tsx), so
 * state the test does not assert on the CLI's own output is checked over HTTP instead.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeHome, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { json, patch } from '../helpers/http.js';
import { REPO_ROOT, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { iris } from './iris-cli.js';

let server: IrisProcess;
let home: string;
let work: string;
let data: Buffer;
let imageFile: string;
let id: string | undefined;

before(async () => {
  server = await startIris();
  home = makeHome();
  work = mkdtempSync(join(tmpdir(), 'iris-cli-'));
  data = randomBytes(1024 * 1024 + 321);
  imageFile = join(work, 'disk.img');
  writeFileSync(imageFile, data);
});

after(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

function run(...args: string[]): Promise<CliResult> {
  return iris(server.baseUrl, home, args);
}

async function ok(...args: string[]): Promise<CliResult> {
  const r = await run(...args);
  assert.equal(r.code, 0, r.describe() + server.logs().slice(-2000));
  return r;
}

function needId(): string {
  assert.ok(id, 'no image id: image-create failed earlier');
  return id;
}

/** The image as the API has it (no CLI start needed). */
async function apiImage(imageId = needId()): Promise<Record<string, any>> {
  const r = await json('GET', `${server.baseUrl}/v2/images/${imageId}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('image-create --file uploads and prints the active image as a glanceclient table', async () => {
  const r = await ok(
    'image-create', '--name', 'cli-life', '--disk-format', 'raw', '--container-format', 'bare',
    '--property', 'k=v', '--min-ram', '64', '--file', imageFile, '--progress',
  );
  const img = parsePropertyTable(r.stdout);
  id = img.id;
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, r.describe());
  assert.equal(img.status, 'active');
  assert.equal(img.size, String(data.length));
  assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
  assert.equal(img.os_hash_value, createHash('sha512').update(data).digest('hex'));
  assert.equal(img.k, 'v');
  assert.equal(img.min_ram, '64');
  assert.equal(img.protected, 'False', 'Python spelling, as glanceclient prints it');
  assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('image-list: table, -f json, and -f value -c ID with a property filter', async () => {
  const [table, asJson, values] = await Promise.all([
    ok('image-list'),
    ok('image-list', '-f', 'json'),
    ok('image-list', '--property-filter', 'k=v', '-f', 'value', '-c', 'ID'),
  ]);
  assert.deepEqual(parseTable(table.stdout).find((row) => row.ID === needId()), { ID: needId(), Name: 'cli-life' });
  const rows = JSON.parse(asJson.stdout) as { ID: string; Name: string }[];
  assert.deepEqual(rows.find((row) => row.ID === needId()), { ID: needId(), Name: 'cli-life' });
  assert.equal(values.stdout, `${needId()}\n`);
});

test('image-show -f json: the record without links', async () => {
  const shown = JSON.parse((await ok('image-show', needId(), '-f', 'json')).stdout);
  assert.equal(shown.id, needId());
  assert.equal(shown.size, data.length);
  assert.equal(shown.protected, false);
  assert.equal(shown.self, undefined, 'links are left out, as glanceclient does');
});

test('image-update --name --property --remove-property', async () => {
  const img = parsePropertyTable((await ok('image-update', '--name', 'cli-life-2', '--property', 'a=b', '--remove-property', 'k', needId())).stdout);
  assert.equal(img.name, 'cli-life-2');
  assert.equal(img.a, 'b');
  assert.equal(img.k, undefined);
});

test('image-tag-update prints ID and Tags; image-tag-delete removes it', async () => {
  const r = await ok('image-tag-update', needId(), 'iris-tag');
  assert.deepEqual(parseTable(r.stdout), [{ ID: needId(), Tags: "['iris-tag']" }]);
  await ok('image-tag-delete', needId(), 'iris-tag');
  assert.deepEqual((await apiImage()).tags, []);
});

test('image-deactivate and image-reactivate', async () => {
  await ok('image-deactivate', needId());
  assert.equal((await apiImage()).status, 'deactivated');
  await ok('image-reactivate', needId());
  assert.equal((await apiImage()).status, 'active');
});

test('image-download --file gives back the same bytes, and leaves no .part', async () => {
  const out = join(work, 'out.img');
  await ok('image-download', '--file', out, needId());
  assert.ok(readFileSync(out).equals(data), 'downloaded bytes differ');
  assert.equal(existsSync(`${out}.part`), false);
});

test('member-create prints the membership; member-list -f json', async () => {
  const vis = await patch(`${server.baseUrl}/v2/images/${needId()}`, [{ op: 'replace', path: '/visibility', value: 'shared' }]);
  assert.equal(vis.status, 200, vis.text);
  const created = await ok('member-create', needId(), 'proj-x');
  assert.deepEqual(parseTable(created.stdout), [{ 'Image ID': needId(), 'Member ID': 'proj-x', Status: 'pending' }]);
  const listed = JSON.parse((await ok('member-list', '--image-id', needId(), '-f', 'json')).stdout);
  assert.deepEqual(listed, [{ 'Image ID': needId(), 'Member ID': 'proj-x', Status: 'pending' }]);
});

test('stdin is image data only with --file -', async () => {
  const r = await iris(server.baseUrl, home, ['image-create', '--name', 'cli-stdin', '--disk-format', 'raw', '--container-format', 'bare', '-f', 'value', '-c', 'id', '-c', 'status'], {
    input: 'not image data',
  });
  assert.equal(r.code, 0, r.describe());
  const [created, status] = r.stdout.trim().split('\n');
  assert.equal(status, 'queued', 'piped stdin was not uploaded');

  const up = await iris(server.baseUrl, home, ['image-upload', '--file', '-', created!], { input: 'stdin bytes' });
  assert.equal(up.code, 0, up.describe());
  assert.equal((await apiImage(created)).size, 'stdin bytes'.length);
  await json('DELETE', `${server.baseUrl}/v2/images/${created}`);
});

test('image-delete, then a one-line 404 on stderr with exit 1', async () => {
  await ok('image-delete', needId());
  const gone = needId();
  id = undefined;
  const [shown, deleted] = await Promise.all([run('image-show', gone), run('image-delete', gone, 'also-missing')]);
  assert.equal(shown.code, 1, shown.describe());
  assert.equal(shown.stdout, '');
  assert.match(shown.stderr, new RegExp(`^HTTP 404 Not Found: No image found with ID ${gone} \\(Request-ID: req-[0-9a-f-]+\\)\\n$`));
  assert.equal(deleted.code, 1, deleted.describe());
  assert.equal(deleted.stderr, `No image with an ID of '${gone}' exists.\nNo image with an ID of 'also-missing' exists.\n`);
});

test('usage errors exit 2; no endpoint is a one-line error, exit 1', async () => {
  const [bad, none] = await Promise.all([
    run('image-list', '--sort-dir', 'sideways'),
    iris(server.baseUrl, home, ['image-list'], { env: { OS_IMAGE_URL: '', OS_AUTH_TOKEN: '' } }),
  ]);
  assert.equal(bad.code, 2, bad.describe());
  assert.match(bad.stderr, /'sideways' is invalid/);
  assert.equal(none.code, 1, none.describe());
  assert.match(none.stderr, /^No image endpoint: .*\n$/);
});

test('iris help <cmd>, iris <cmd> --help, and npx iris --help in the repository', async () => {
  // A private npm cache: npx installs the project into its cache with the bin links of that
  // moment, so a cache from before a bin was added would say "iris: not found".
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  Object.assign(env, { HOME: home, npm_config_cache: join(home, '.npm'), npm_config_update_notifier: 'false' });
  const [help, show, npx] = await Promise.all([
    ok('help', 'image-create'),
    ok('image-show', '--help'),
    promisify(execFile)('npx', ['--no-install', 'iris', '--help'], { cwd: REPO_ROOT, env, timeout: 60_000 }),
  ]);
  assert.match(help.stdout, /Usage: iris image-create/);
  assert.match(help.stdout, /--disk-format <DISK_FORMAT>/);
  assert.match(help.stdout, /--os-image-url/, 'global options are listed too');
  assert.match(show.stdout, /--max-column-width/);
  assert.match(npx.stdout, /image-create/);
  assert.match(npx.stdout, /member-list/);
});
