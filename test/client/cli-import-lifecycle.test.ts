/**
 * The import commands of `iris` (a child process) against a multi-store cloud with the import
 * methods enabled (see import-target.ts: IRIS_IMPORT_TEST_TARGET, else Iris): discovery,
 * glance-direct through image-create-via-import and through image-stage + image-import,
 * web-download, copy-image, stores-delete, the task views, and glanceclient's validation
 * messages. Import finishes asynchronously, so results are awaited over HTTP.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHome, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable } from '../helpers/cli-table.js';
import { json } from '../helpers/http.js';
import { md5, seededBytes, serveBytes, storesOf, waitForImage, type FileServer } from './import-helpers.js';
import { identity, IMPORT_METHODS, openImportTarget, peerToken, STORES, type ImportTarget } from './import-target.js';
import { iris } from './iris-cli.js';

let target: ImportTarget | undefined;
let home: string;
let work: string;
let data: Buffer;
let file: string;
let web: FileServer;
const project = `cli-imp-${randomBytes(4).toString('hex')}`;
const token = peerToken(project, 'admin');
const headers = identity(token);
/** Images this file created, deleted at the end. */
const created: string[] = [];
/** The glance-direct image and its import task, for the task views. */
let directId: string | undefined;
let taskId: string | undefined;
/** The image staged from stdin and imported to local2 (then copied and trimmed). */
let stagedId: string | undefined;

before(async () => {
  home = makeHome();
  target = await openImportTarget();
  work = mkdtempSync(join(tmpdir(), 'iris-cli-import-'));
  data = seededBytes(1024 * 1024 + 4321, project);
  file = join(work, 'disk.img');
  writeFileSync(file, data);
  web = await serveBytes(data);
});

after(async () => {
  rmSync(home, { recursive: true, force: true });
  if (target === undefined) return;
  for (const id of created) await json('DELETE', `${target.baseUrl}/v2/images/${id}`, undefined, headers).catch(() => {});
  await web?.close();
  await target.close();
  rmSync(work, { recursive: true, force: true });
});

function base(): string {
  assert.ok(target, 'no import target');
  return target.baseUrl;
}

function run(args: readonly string[], extra: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return iris(base(), home, args, { ...extra, env: { OS_AUTH_TOKEN: token, ...extra.env } });
}

async function ok(args: readonly string[], extra: { input?: Buffer | string } = {}): Promise<CliResult> {
  const r = await run(args, extra);
  assert.equal(r.code, 0, r.describe() + (target?.logs().slice(-2000) ?? ''));
  return r;
}

/** An image table's id, remembered for cleanup. */
function createdId(r: CliResult): string {
  const id = parsePropertyTable(r.stdout).id;
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, r.describe());
  created.push(id!);
  return id!;
}

const STEP = { timeout: 120_000 };

test('import-info and stores-info (plain and --detail) show the methods and stores', { timeout: 60_000 }, async () => {
  const [info, stores, detail] = await Promise.all([
    ok(['import-info', '-f', 'json']),
    ok(['stores-info', '-f', 'json']),
    ok(['stores-info', '--detail']),
  ]);
  assert.deepEqual([...JSON.parse(info.stdout)['import-methods'].value].sort(), [...IMPORT_METHODS].sort());
  const listed = JSON.parse(stores.stdout).stores as { id: string; default?: unknown }[];
  assert.deepEqual(listed.map((s) => s.id).sort(), [...STORES]);
  assert.equal(listed.find((s) => s.default !== undefined)?.id, 'local', 'local is the default store');
  const detailCell = parsePropertyTable(detail.stdout).stores ?? '';
  assert.match(detailCell, /"type": "file"/, detail.stdout);
});

test('image-create-via-import --file: glance-direct into --stores local,local2', STEP, async () => {
  const r = await ok([
    'image-create-via-import', '--name', 'via-import', '--disk-format', 'raw', '--container-format', 'bare',
    '--property', 'purpose=cli-test', '--file', file, '--stores', 'local,local2',
  ]);
  directId = createdId(r);
  const printed = parsePropertyTable(r.stdout);
  assert.equal(printed.name, 'via-import');
  assert.equal(printed.purpose, 'cli-test');
  assert.ok(['uploading', 'importing', 'active'].includes(printed.status ?? ''), `printed right after the import request: ${printed.status}`);
  const image = await waitForImage(base(), directId, headers, (i) => i.status === 'active' && storesOf(i).length === 2);
  assert.equal(image.checksum, md5(data));
  assert.equal(image.size, data.length);
  assert.deepEqual(storesOf(image), [...STORES]);
  // Glance drops os_glance_import_task when the import is done; the image's task list keeps it.
  const tasks = await json('GET', `${base()}/v2/images/${directId}/tasks`, undefined, headers);
  assert.equal(tasks.status, 200, tasks.text);
  assert.equal(tasks.body.tasks.length, 1, tasks.text);
  taskId = tasks.body.tasks[0].id as string;
  if (printed.os_glance_import_task !== undefined) assert.equal(printed.os_glance_import_task, taskId);
});

test('image-tasks, task-show and task-list show the import task', STEP, async () => {
  assert.ok(directId && taskId, 'the glance-direct import failed earlier');
  // The task turns `success` a moment after the image turns active.
  const deadline = Date.now() + 30_000;
  let shown: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    shown = JSON.parse((await ok(['task-show', taskId, '-f', 'json'])).stdout);
    if (shown.status === 'success') break;
  }
  assert.equal(shown.status, 'success', JSON.stringify(shown));
  assert.equal(shown.type, 'api_image_import');
  assert.equal(shown.image_id, directId);
  assert.equal(shown.owner, project);
  assert.equal((shown.input as Record<string, any>).import_req.method.name, 'glance-direct');
  assert.equal('self' in shown || 'schema' in shown, false, 'links are left out, as glanceclient does');

  const [tasks, verbose, listed, otherStatus, otherType, badSort] = await Promise.all([
    ok(['image-tasks', directId, '-f', 'json']),
    ok(['--verbose', 'image-tasks', directId, '-f', 'json']),
    ok(['task-list', '--status', 'success', '--sort-key', 'id', '--sort-dir', 'asc', '--page-size', '1', '-f', 'json']),
    ok(['task-list', '--status', 'failure', '-f', 'value', '-c', 'ID']),
    // Glance's type filter takes only the old tasks API's `import` (api_image_import is a 400).
    ok(['task-list', '--type', 'import', '-f', 'value', '-c', 'ID']),
    run(['task-list', '--sort-key', 'created_at']),
  ]);
  assert.deepEqual(JSON.parse(tasks.stdout).map((row: Record<string, string>) => row.Status), ['success']);
  assert.equal(JSON.parse(verbose.stdout)[0]['Task Id'], taskId);
  const rows = JSON.parse(listed.stdout) as Record<string, string>[];
  assert.ok(rows.some((row) => row.ID === taskId && row.Owner === project && row.Type === 'api_image_import'), listed.stdout);
  // Pages of one task each (followed through `next`); the order is the server's business
  // (Glance 25.1.0 answers sort_key=id in creation order), so only the content is checked.
  assert.equal(new Set(rows.map((row) => row.ID)).size, rows.length, 'no task twice across pages');
  assert.equal(otherStatus.stdout.includes(taskId), false);
  assert.equal(otherType.stdout.includes(taskId), false);
  assert.equal(badSort.code, 2, badSort.describe());
});

test('image-stage --file - (standard input), then image-import --store local2', STEP, async () => {
  const r = await ok(['image-create', '--name', 'staged', '--disk-format', 'raw', '--container-format', 'bare']);
  stagedId = createdId(r);
  const staged = await run(['image-stage', '--file', '-', stagedId], { input: data });
  assert.equal(staged.code, 0, staged.describe());
  assert.equal(staged.stdout, '', 'image-stage prints nothing, as glanceclient');
  const uploading = await json('GET', `${base()}/v2/images/${stagedId}`, undefined, headers);
  assert.equal(uploading.body.status, 'uploading');

  const imported = await ok(['image-import', stagedId, '--store', 'local2']);
  assert.equal(parsePropertyTable(imported.stdout).id, stagedId);
  const image = await waitForImage(base(), stagedId, headers, (i) => i.status === 'active' && i.os_glance_import_task === undefined);
  assert.deepEqual(storesOf(image), ['local2']);
  assert.equal(image.checksum, md5(data));
});

test('copy-image with image-import --stores local, then stores-delete', STEP, async () => {
  assert.ok(stagedId, 'the staged import failed earlier');
  await ok(['image-import', stagedId, '--import-method', 'copy-image', '--stores', 'local']);
  const copied = await waitForImage(base(), stagedId, headers, (i) => storesOf(i).length === 2 && !i.os_glance_importing_to_stores && i.os_glance_import_task === undefined);
  assert.deepEqual(storesOf(copied), [...STORES]);

  const removed = await run(['stores-delete', '--store', 'local2', stagedId]);
  assert.equal(removed.code, 0, removed.describe());
  assert.equal(removed.stdout, '');
  const after = await json('GET', `${base()}/v2/images/${stagedId}`, undefined, headers);
  assert.deepEqual(storesOf(after.body), ['local']);
  assert.equal(after.body.status, 'active');

  const [last, absent] = await Promise.all([
    run(['stores-delete', '--store', 'local', stagedId]),
    run(['stores-delete', '--store', 'local', randomUuid()]),
  ]);
  assert.equal(last.code, 1, last.describe());
  assert.match(last.stderr, new RegExp(`^Unable to delete image '${stagedId}' from store 'local'\\. \\(HTTP 403 Forbidden: .+\\)\\n$`));
  assert.equal(absent.code, 1, absent.describe());
  assert.equal(absent.stderr, 'Multi Backend support is not enabled or Image/store not found.\n');
});

test('image-create-via-import --import-method web-download --uri, into --store local2', STEP, async (t) => {
  const r = await run([
    'image-create-via-import', '--name', 'from-web', '--disk-format', 'raw', '--container-format', 'bare',
    '--import-method', 'web-download', '--uri', web.url, '--store', 'local2',
  ]);
  const id = createdId(r);
  const refused = /^HTTP 400 Bad Request: URI for web-download does not pass filtering: .*\n$/;
  if (r.code === 1 && refused.test(r.stderr)) {
    // Glance with the loopback guard (Debian's glance-api refuses 127.0.0.1 unless it is in
    // [import_filtering_opts] allowed_hosts, which peer-glance cannot set): the image was
    // created and is printed anyway, as glanceclient does, then the one-line error.
    assert.equal(parsePropertyTable(r.stdout).status, 'queued', r.describe());
    t.diagnostic(`${target!.label} refuses web-download from 127.0.0.1; only the refusal was checked`);
    return;
  }
  assert.equal(r.code, 0, r.describe());
  const image = await waitForImage(base(), id, headers, (i) => i.status === 'active' && i.os_glance_import_task === undefined);
  assert.equal(image.checksum, md5(data));
  assert.deepEqual(storesOf(image), ['local2']);
  assert.ok(web.hits() >= 1);
});

test('image-create --file --store local2 uploads straight into that store', STEP, async () => {
  const r = await ok(['image-create', '--name', 'direct-store', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--store', 'local2']);
  createdId(r);
  const printed = parsePropertyTable(r.stdout);
  assert.equal(printed.status, 'active');
  assert.equal(printed.stores, 'local2');
  assert.equal(printed.checksum, md5(data));
});

test('image-create-via-import without method or data creates a queued record only', STEP, async () => {
  const r = await ok(['image-create-via-import', '--name', 'record-only']);
  createdId(r);
  assert.equal(parsePropertyTable(r.stdout).status, 'queued');
});

test("invalid requests fail in glanceclient's words before anything is created", { timeout: 300_000 }, async () => {
  const count = async (): Promise<number> =>
    (await json('GET', `${base()}/v2/images?owner=${project}&limit=100`, undefined, headers)).body.images.length;
  const before = await count();
  const queued = await json('POST', `${base()}/v2/images`, { name: 'q', disk_format: 'raw', container_format: 'bare' }, headers);
  created.push(queued.body.id);
  const noFormats = await json('POST', `${base()}/v2/images`, { name: 'nf' }, headers);
  created.push(noFormats.body.id);
  const q = queued.body.id as string;
  const formats = ['--disk-format', 'raw', '--container-format', 'bare'];
  const cases: [string[], string, number?][] = [
    [['image-create-via-import', ...formats, '--import-method', 'copy-image'], "Import method 'copy-image' cannot be used while creating the image."],
    [['image-create-via-import', ...formats, '--import-method', 'nope'], "Import method 'nope' is not valid for this cloud. Valid values can be retrieved with import-info command."],
    [['image-create-via-import', ...formats, '--uri', web.url], 'You cannot use --uri without specifying an import method.'],
    [['image-create-via-import', ...formats, '--import-method', 'web-download'], "URI is required for web-download import method. Please use '--uri <uri>'."],
    [['image-create-via-import', ...formats, '--import-method', 'web-download', '--uri', web.url, '--file', file], 'You cannot specify a --file with the web-download import method.'],
    [['image-create-via-import', ...formats, '--import-method', 'glance-direct'], 'You must specify a --file or provide data via stdin for the glance-direct import method.'],
    [['image-create-via-import', ...formats, '--file', join(work, 'missing.img')], `File ${join(work, 'missing.img')} does not exist or user does not have read privileges to it.`],
    [['image-create-via-import', ...formats, '--file', file, '--store', 'local', '--stores', 'local2'], 'Only one of --store, --stores and --all-stores can be provided'],
    [['image-create-via-import', ...formats, '--file', file, '--stores', 'local,nowhere'], "Store 'nowhere' is not valid for this cloud. Valid values can be retrieved with stores-info command."],
    [['image-create-via-import', '--file', file], 'Must provide --disk-format, --container-format when using --file.', 2],
    [['image-import', q], "The 'glance-direct' import method can only be applied to an image in status 'uploading'"],
    [['image-import', q, '--import-method', 'copy-image'], "Provide either --stores or --all-stores for 'copy-image' import method."],
    [['image-import', q, '--import-method', 'web-download'], 'Provide URI for web-download import method.'],
    [['image-import', q, '--uri', web.url], "Import method should be 'web-download' if URI is provided."],
    [['image-import', q, '--import-method', 'copy-image', '--all-stores', 'true'], "The 'copy-image' import method can only be used on an image with status 'active'."],
    [['image-import', noFormats.body.id, '--import-method', 'web-download', '--uri', web.url], "The 'container_format' and 'disk_format' properties must be set on an image before it can be imported."],
    [['image-stage', q], 'image-stage needs --file <FILE> (use --file - to read the image from standard input)', 2],
    [['image-create', ...formats, '--store', 'local2'], '--store option should only be provided with --file option or stdin.'],
    [['image-upload', q, '--file', file, '--store', 'nowhere'], "Store 'nowhere' is not valid for this cloud. Valid values can be retrieved with stores-info command."],
  ];
  // A few CLIs at a time: twenty node processes at once starve a small, shared CI machine
  // past each CLI's own 60 s limit.
  const results: CliResult[] = new Array(cases.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < cases.length; i = next++) results[i] = await run(cases[i]![0]);
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  results.forEach((r, i) => {
    const [, message, code = 1] = cases[i]!;
    assert.equal(r.code, code, r.describe());
    assert.equal(r.stderr, `${message}\n`, r.describe());
    assert.equal(r.stdout, '', r.describe());
  });
  assert.equal(await count(), before + 2, 'only the two records made over HTTP exist');
  const still = await json('GET', `${base()}/v2/images/${q}`, undefined, headers);
  assert.equal(still.body.status, 'queued');
});

test('iris help covers the import, task and store commands (no server needed)', { timeout: 60_000 }, async () => {
  const help = async (args: string[]): Promise<CliResult> => {
    const r = await iris('http://127.0.0.1:9', home, args);
    assert.equal(r.code, 0, r.describe());
    return r;
  };
  const [create, tasks, del] = await Promise.all([help(['help', 'image-create-via-import']), help(['help', 'task-list']), help(['stores-delete', '--help'])]);
  for (const flag of ['--import-method <METHOD>', '--uri <IMAGE_URL>', '--stores <STORES>', '--all-stores', '--allow-failure', '--file <FILE>']) {
    assert.ok(create.stdout.includes(flag), `${flag} in:\n${create.stdout}`);
  }
  assert.match(tasks.stdout, /--sort-key <KEY>.*choices: "id", "type", "status"/s);
  assert.match(del.stdout, /Usage: iris stores-delete \[options\] <IMAGE_ID>/);
  assert.match(del.stdout, /--store <STORE_ID>/);
});

function randomUuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
