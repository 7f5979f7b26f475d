/**
 * Interoperable import as users type it, with the unchanged Debian clients: glanceclient 4.1.0
 * (`image-create-via-import` glance-direct from stdin and from --file, web-download from a local
 * HTTP server, `image-import` copy-image, `image-tasks`, `task-list`/`task-show`, `stores-info`,
 * `stores-delete`) and openstackclient 6.0.0 (`image create --import`, which stages and imports
 * with glance-direct). Iris runs multi-store (local, local2) with every import method, like the
 * reference peer in that configuration; identities come from the `peer:<project>:<roles>` token
 * shim (project p1: `member` for users, `admin` where Glance's legacy policy wants the admin role).
 *
 * Set IRIS_TEST_TARGET=http://127.0.0.1:9305 to run the same steps against the reference Glance
 * started with PEER_GLANCE_BACKENDS=local,local2 PEER_GLANCE_WEB_DOWNLOAD_PORTS= (any port). The
 * Debian glance blocks loopback sources for web-download, so against an external target the test
 * HTTP server listens on all interfaces and the URI names this machine's first non-loopback IPv4.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GLANCE, OPENSTACK, requireTool } from '../helpers/tools.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { json } from '../helpers/http.js';

const haveGlance = requireTool('glance', GLANCE);
const haveOsc = requireTool('openstack', OPENSTACK);
const STEP = { skip: haveGlance ? false : 'glance not installed', timeout: 60_000 };
const OSC_STEP = { skip: haveOsc ? false : 'openstack not installed', timeout: 60_000 };

const MEMBER = 'peer:p1:member';
const ADMIN = 'peer:p1:admin,member,reader';

let baseUrl: string;
let iris: IrisProcess | undefined;
let web: Server;
let webUrl: string;
let work: string;
let home: string;
let imageFile: string;
let data: Buffer;
let wdId: string | undefined;
const created = new Set<string>();
// Unique: the reference peer may be shared with other test runs.
const name = `iris-flows-${randomBytes(4).toString('hex')}`;

/** Where the test HTTP server is reachable from the server under test (see the file comment). */
function webHost(external: boolean): string {
  if (!external) return '127.0.0.1';
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('no non-loopback IPv4 address for the web-download source');
}

before(async () => {
  if (!haveGlance && !haveOsc) return;
  work = mkdtempSync(join(tmpdir(), 'iris-flows-'));
  home = makeHome();
  // Not a multiple of any chunk size, and over 1 MiB so the task reports progress.
  data = randomBytes(1024 * 1024 + 4321);
  imageFile = join(work, 'disk.img');
  writeFileSync(imageFile, data);

  const external = process.env.IRIS_TEST_TARGET ?? '';
  web = createServer((req, res) => {
    if (req.url === '/img') {
      res.writeHead(200, { 'Content-Length': String(data.length), 'Content-Type': 'application/octet-stream' });
      res.end(data);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  web.listen(0, external ? '0.0.0.0' : '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webUrl = `http://${webHost(external !== '')}:${(web.address() as AddressInfo).port}/img`;

  if (external !== '') {
    baseUrl = external.replace(/\/+$/, '');
    return;
  }
  iris = await startIris({
    env: {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      // The peer's descriptions, so `stores-info` prints the same table.
      IRIS__LOCAL__STORE_DESCRIPTION: 'local filesystem store',
      IRIS__LOCAL2__STORE_DESCRIPTION: 'local2 filesystem store',
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: `80,443,${(web.address() as AddressInfo).port}`,
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
  baseUrl = iris.baseUrl;
});

after(async () => {
  if (!haveGlance && !haveOsc) return;
  // Failed steps leave images behind; a shared peer must be cleaned over HTTP.
  for (const id of created) {
    await json('DELETE', `${baseUrl}/v2/images/${id}`, undefined, { 'X-Auth-Token': ADMIN }).catch(() => {});
  }
  await iris?.stop();
  web.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

function serverTail(): string {
  const logs = iris?.logs() ?? '';
  return logs ? `--- server log (tail) ---\n${logs.slice(-3000)}\n` : '';
}

interface GlanceRun {
  readonly token?: string;
  /** Data on stdin (a pipe, so glanceclient's `isatty()` is false and it reads it). */
  readonly input?: Buffer;
  /**
   * Run with stdin closed (`<&-`, glanceclient's documented cron-job case). `--file` and `--uri`
   * refuse to run when stdin is a pipe or /dev/null ("You cannot use both --file and stdin").
   */
  readonly noStdin?: boolean;
}

function glance(opts: GlanceRun, ...args: string[]): Promise<CliResult> {
  // A dummy --os-auth-url keeps glanceclient from reading back a cached multi-store schema
  // (its `stores` property then clashes with --stores; see the peer-glance README).
  const argv = ['--os-image-url', baseUrl, '--os-auth-token', opts.token ?? MEMBER, '--os-auth-url', `${baseUrl}/no-keystone`, ...args];
  if (opts.noStdin) return runCli('/bin/sh', ['-c', 'exec "$0" "$@" <&-', GLANCE, ...argv], { home });
  return runCli(GLANCE, argv, { home, input: opts.input });
}

async function ok(run: Promise<CliResult>): Promise<CliResult> {
  const r = await run;
  assert.equal(r.code, 0, r.describe() + serverTail());
  return r;
}

async function show(id: string, token = MEMBER): Promise<Record<string, string>> {
  return parsePropertyTable((await ok(glance({ token }, 'image-show', id))).stdout);
}

/** Polls `glance image-show` until `done` holds (the import task is asynchronous). */
async function showUntil(id: string, done: (img: Record<string, string>) => boolean, what: string): Promise<Record<string, string>> {
  const deadline = Date.now() + 30_000;
  let img = await show(id);
  while (!done(img)) {
    if (Date.now() > deadline) assert.fail(`image ${id} never became ${what}: ${JSON.stringify(img)}\n${serverTail()}`);
    await sleep(200);
    img = await show(id);
  }
  return img;
}

/** Active, and the import lock gone: the task has ended too (it ends a moment after). */
const importDone = (img: Record<string, string>): boolean => img.status === 'active' && img.os_glance_import_task === undefined;

const digests = (): { md5: string; sha512: string } => ({
  md5: createHash('md5').update(data).digest('hex'),
  sha512: createHash('sha512').update(data).digest('hex'),
});

/** The image glanceclient printed after `image-create-via-import` (printed even on failure). */
function printedImage(r: CliResult): Record<string, string> {
  const img = parsePropertyTable(r.stdout);
  if (img.id) created.add(img.id);
  return img;
}

function assertActiveWithData(img: Record<string, string>): void {
  const d = digests();
  assert.equal(img.status, 'active', JSON.stringify(img));
  assert.equal(img.size, String(data.length));
  assert.equal(img.checksum, d.md5);
  assert.equal(img.os_hash_algo, 'sha512');
  assert.equal(img.os_hash_value, d.sha512);
  assert.equal(img.stores, 'local');
}

async function importTasks(id: string): Promise<any[]> {
  const r = await json('GET', `${baseUrl}/v2/images/${id}/tasks`, undefined, { 'X-Auth-Token': MEMBER });
  assert.equal(r.status, 200, r.text);
  return r.body.tasks;
}

let stdinId: string | undefined;

test('image-create-via-import glance-direct, data on stdin → active, right checksums', STEP, async () => {
  const r = await ok(
    glance(
      { input: data },
      'image-create-via-import',
      '--import-method', 'glance-direct',
      '--disk-format', 'raw',
      '--container-format', 'bare',
      '--name', `${name}-stdin`,
    ),
  );
  const printed = printedImage(r);
  stdinId = printed.id;
  assert.match(stdinId ?? '', /^[0-9a-f-]{36}$/, r.describe());
  assert.equal(printed.owner, 'p1', r.describe());
  // Printed right after the 202: still uploading, or already importing/active.
  assert.ok(['uploading', 'importing', 'active'].includes(printed.status ?? ''), r.describe());
  assertActiveWithData(await showUntil(stdinId!, importDone, 'active, its import ended'));
});

test('image-tasks lists the import task', STEP, async (t: TestContext) => {
  assert.ok(stdinId, 'the stdin import failed earlier');
  const help = await ok(glance({}, 'help'));
  if (!/\bimage-tasks\b/.test(help.stdout)) {
    t.skip('this glanceclient has no image-tasks');
    return;
  }
  // glanceclient calls GET /v2/images/{id}/tasks only when GET /versions lists v2.12, which
  // Glance does when enabled_backends is set (v2.13 … v2.8); otherwise it prints "Server does
  // not support image tasks API (v2.12)" and exits 1.
  const r = await ok(glance({}, 'image-tasks', stdinId!));
  const rows = parseTable(r.stdout);
  assert.equal(rows.length, 1, r.describe());
  assert.equal(rows[0]!.Status, 'success', r.describe());
  assert.match(rows[0]!.Message ?? '', /^Copied \d+ MiB$/, r.describe());
});

test('task-list and task-show as admin; task-list as member is 403', STEP, async () => {
  assert.ok(stdinId, 'the stdin import failed earlier');
  const [task] = await importTasks(stdinId!);
  assert.ok(task, 'no task for the stdin import');
  const list = await ok(glance({ token: ADMIN }, 'task-list'));
  const row = parseTable(list.stdout).find((x) => x.ID === task.id);
  assert.ok(row, `task ${task.id} not in task-list${list.describe()}`);
  assert.deepEqual(row, { ID: task.id, Type: 'api_image_import', Status: 'success', Owner: 'p1' });

  const shown = parsePropertyTable((await ok(glance({ token: ADMIN }, 'task-show', task.id))).stdout);
  assert.equal(shown.id, task.id);
  assert.equal(shown.image_id, stdinId);
  assert.equal(shown.type, 'api_image_import');
  assert.equal(shown.status, 'success');
  assert.equal(shown.owner, 'p1');
  assert.deepEqual(JSON.parse(shown.result ?? "null"), { image_id: stdinId });
  assert.match(shown.input ?? '', /"method": ?\{"name": "glance-direct"\}/);

  const denied = await glance({}, 'task-list');
  assert.notEqual(denied.code, 0, denied.describe());
  assert.match(denied.stderr, /HTTP 403 Forbidden: You are not authorized to complete tasks_api_access action\./, denied.describe());
});

test('image-create-via-import glance-direct --file → active, right checksums', STEP, async () => {
  const r = await ok(
    glance(
      { noStdin: true },
      'image-create-via-import',
      '--import-method', 'glance-direct',
      '--disk-format', 'raw',
      '--container-format', 'bare',
      '--name', `${name}-file`,
      '--file', imageFile,
    ),
  );
  const id = printedImage(r).id;
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, r.describe());
  assertActiveWithData(await showUntil(id!, importDone, 'active, its import ended'));
});

test('image-create-via-import web-download --uri from a local HTTP server → active', STEP, async () => {
  const r = await ok(
    glance(
      { noStdin: true },
      'image-create-via-import',
      '--import-method', 'web-download',
      '--disk-format', 'raw',
      '--container-format', 'bare',
      '--name', `${name}-web`,
      '--uri', webUrl,
    ),
  );
  wdId = printedImage(r).id;
  assert.match(wdId ?? '', /^[0-9a-f-]{36}$/, r.describe());
  assertActiveWithData(await showUntil(wdId!, importDone, 'active, its import ended'));
  const [task] = await importTasks(wdId!);
  assert.equal(task?.status, 'success', JSON.stringify(task));
});

test('web-download of a refused URI: non-zero exit, Glance message, image left queued', STEP, async () => {
  const uri = 'ftp://example.com/disk.img';
  const r = await glance(
    { noStdin: true },
    'image-create-via-import',
    '--import-method', 'web-download',
    '--disk-format', 'raw',
    '--container-format', 'bare',
    '--name', `${name}-refused`,
    '--uri', uri,
  );
  assert.notEqual(r.code, 0, r.describe() + serverTail());
  assert.match(r.stderr, new RegExp(`HTTP 400 Bad Request: URI for web-download does not pass filtering: ${uri}`), r.describe());
  // glanceclient prints the image it created whatever happened to the import.
  const printed = printedImage(r);
  assert.equal(printed.status, 'queued', r.describe());
});

test('image-import copy-image --stores local2 as admin → stores local,local2', STEP, async () => {
  assert.ok(wdId, 'the web-download import failed earlier');
  await ok(glance({ token: ADMIN }, 'image-import', wdId!, '--import-method', 'copy-image', '--stores', 'local2'));
  const img = await showUntil(wdId!, (i) => i.stores === 'local,local2' && !i.os_glance_importing_to_stores && i.os_glance_import_task === undefined, 'in local,local2, its copy ended');
  assert.equal(img.status, 'active');
  assert.equal(img.checksum, digests().md5);
  assert.equal(img.os_glance_failed_import, '');
  const tasks = await importTasks(wdId!);
  assert.equal(tasks.length, 2, JSON.stringify(tasks));
  assert.ok(tasks.every((x) => x.status === 'success'), JSON.stringify(tasks));
});

test('copy-image as a member: 403 copy_image', STEP, async () => {
  assert.ok(wdId, 'the web-download import failed earlier');
  const r = await glance({}, 'image-import', wdId!, '--import-method', 'copy-image', '--stores', 'local2');
  assert.notEqual(r.code, 0, r.describe());
  assert.match(r.stderr, /HTTP 403 Forbidden: You are not authorized to complete copy_image action\./, r.describe());
});

test('stores-info lists local (default) and local2', STEP, async () => {
  const r = await ok(glance({}, 'stores-info'));
  const stores = JSON.parse(parsePropertyTable(r.stdout).stores ?? 'null');
  assert.deepEqual(stores, [
    { id: 'local', description: 'local filesystem store', default: 'true' },
    { id: 'local2', description: 'local2 filesystem store' },
  ]);
});

test('stores-delete --store local2 as admin → stores local', STEP, async (t: TestContext) => {
  assert.ok(wdId, 'the web-download import failed earlier');
  const help = await ok(glance({}, 'help'));
  if (!/\bstores-delete\b/.test(help.stdout)) {
    t.skip('this glanceclient has no stores-delete');
    return;
  }
  const r = await ok(glance({ token: ADMIN }, 'stores-delete', wdId!, '--store', 'local2'));
  assert.equal(r.stdout.trim(), '', r.describe());
  const img = await show(wdId!);
  assert.equal(img.stores, 'local');
  assert.equal(img.status, 'active');
});

test('openstack image create --import: stage + glance-direct import → active', OSC_STEP, async () => {
  const osc = (...args: string[]) =>
    runCli(OPENSTACK, ['--os-auth-type', 'admin_token', '--os-endpoint', `${baseUrl}/v2`, '--os-token', MEMBER, ...args], { home });
  const r = await ok(
    osc('--debug', 'image', 'create', '--import', '--disk-format', 'raw', '--container-format', 'bare', '--file', imageFile, '-f', 'json', `${name}-osc`),
  );
  const printed = JSON.parse(r.stdout);
  const id = printed.id as string;
  created.add(id);
  assert.match(id, /^[0-9a-f-]{36}$/, r.describe());
  // What --import does (the SDK's create_image with use_import): create, stage, import.
  const calls = [...r.stderr.matchAll(/"(POST|PUT) (\/v2\/images[^ ]*) HTTP\/1\.1" (\d+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  assert.deepEqual(calls, ['POST /v2/images 201', `PUT /v2/images/${id}/stage 204`, `POST /v2/images/${id}/import 202`], r.stderr.slice(-4000));
  assert.match(r.stderr, /-d '\{"method": \{"name": "glance-direct"\}\}'/);

  const d = digests();
  const deadline = Date.now() + 30_000;
  let img: any;
  for (;;) {
    img = JSON.parse((await ok(osc('image', 'show', '-f', 'json', id))).stdout);
    if (img.status === 'active' || Date.now() > deadline) break;
    await sleep(200);
  }
  assert.equal(img.status, 'active', JSON.stringify(img) + serverTail());
  assert.equal(img.name, `${name}-osc`);
  assert.equal(img.owner, 'p1');
  assert.equal(img.size, data.length);
  assert.equal(img.checksum, d.md5);
  // The SDK folds attributes it does not know (os_hash_*, stores) into "properties".
  const props = img.properties ?? {};
  assert.equal(props.os_hash_value ?? img.os_hash_value, d.sha512);
  assert.equal(props.stores ?? img.stores, 'local');
});
