/**
 * `iris image-import` / `image-create-via-import` with glance-download's remote flags, against a
 * real Iris that offers the method: the body the CLI sends (its `--debug` REQ line) and the one
 * Iris recorded in the import task; the combinations glanceclient 4.1 refuses, in its words.
 * Without Keystone the task itself fails (no catalog to find the region in): only the request
 * matters here; docs/glance-download.md's tests cover the import.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHome, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable } from '../helpers/cli-table.js';
import { json } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { iris } from './iris-cli.js';

const REMOTE_ID = '5a3e9d1c-7b2f-4c8e-9f10-2b6d4e8a1c37';
const token = `peer:cli-gdl-${randomBytes(4).toString('hex')}:admin`;
const headers = { 'X-Auth-Token': token };
const formats = ['--disk-format', 'raw', '--container-format', 'bare'];
let server: IrisProcess;
let home: string;

before(async () => {
  home = makeHome();
  const conf = join(home, 'iris-api.conf');
  writeFileSync(conf, '[DEFAULT]\nenabled_import_methods = glance-direct,web-download,glance-download\n');
  server = await startIris({ args: ['--config-file', conf] });
});

after(async () => {
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

function run(args: readonly string[], input?: string): Promise<CliResult> {
  return iris(server.baseUrl, home, args, { input, env: { OS_AUTH_TOKEN: token } });
}

/** The JSON body of the CLI's `POST …/import`, from its `--debug` curl line. */
function sentImportBody(r: CliResult): unknown {
  const line = r.stderr.split('\n').find((l) => /REQ: curl .*-X POST \S+\/import /.test(l));
  assert.ok(line, `no import request in:\n${r.stderr}`);
  return JSON.parse(/ -d '(.*)'$/.exec(line)![1]!);
}

/** The import request Iris recorded in the image's (only) task. */
async function recordedImport(id: string): Promise<unknown> {
  const tasks = await json('GET', `${server.baseUrl}/v2/images/${id}/tasks`, undefined, headers);
  assert.equal(tasks.status, 200, tasks.text);
  assert.equal(tasks.body.tasks.length, 1, tasks.text);
  return tasks.body.tasks[0].input.import_req;
}

async function queuedImage(): Promise<string> {
  const created = await json('POST', `${server.baseUrl}/v2/images`, { name: 'gdl-target', disk_format: 'raw', container_format: 'bare' }, headers);
  assert.equal(created.status, 201, created.text);
  return created.body.id as string;
}

test('image-import --import-method glance-download sends the region, image id and interface', { timeout: 120_000 }, async () => {
  const id = await queuedImage();
  const r = await run([
    '--debug', 'image-import', id, '--import-method', 'glance-download',
    '--remote-region', 'RegionTwo', '--remote-image-id', REMOTE_ID, '--remote-service-interface', 'internal',
  ]);
  assert.equal(r.code, 0, r.describe() + server.logs().slice(-2000));
  assert.equal(parsePropertyTable(r.stdout).id, id);
  const method = { name: 'glance-download', glance_region: 'RegionTwo', glance_image_id: REMOTE_ID, glance_service_interface: 'internal' };
  assert.deepEqual(sentImportBody(r), { method });
  assert.deepEqual(await recordedImport(id), { method });
});

test("image-create-via-import --import-method glance-download sends glanceclient's default interface", { timeout: 120_000 }, async () => {
  const r = await run([
    '--debug', 'image-create-via-import', '--name', 'gdl-created', ...formats,
    '--import-method', 'glance-download', '--remote-region', 'RegionTwo', '--remote-image-id', REMOTE_ID,
  ]);
  assert.equal(r.code, 0, r.describe() + server.logs().slice(-2000));
  const id = parsePropertyTable(r.stdout).id!;
  const method = { name: 'glance-download', glance_region: 'RegionTwo', glance_image_id: REMOTE_ID, glance_service_interface: 'public' };
  assert.deepEqual(sentImportBody(r), { method });
  assert.deepEqual(await recordedImport(id), { method });
});

test("refused combinations: glanceclient's message, exit 1, nothing created or imported", { timeout: 300_000 }, async () => {
  const q = await queuedImage();
  const count = async (): Promise<number> => (await json('GET', `${server.baseUrl}/v2/images?limit=100`, undefined, headers)).body.images.length;
  const before = await count();
  const web = ['--import-method', 'web-download', '--uri', 'https://example.com/disk.img'];
  const gdl = ['image-create-via-import', ...formats, '--import-method', 'glance-download'];
  const full = [...gdl, '--remote-region', 'RegionTwo', '--remote-image-id', REMOTE_ID];
  const cases: [string[], string, string?][] = [
    [['image-import', q, '--import-method', 'glance-download', '--remote-region', 'RegionTwo'], "Provide REMOTE_IMAGE_ID and remote-region for 'glance-download' import method."],
    [['image-import', q, '--import-method', 'glance-download', '--remote-image-id', REMOTE_ID], "Provide REMOTE_IMAGE_ID and remote-region for 'glance-download' import method."],
    [['image-import', q, ...web, '--remote-region', 'RegionTwo'], "Import method should be 'glance-download' if REMOTE REGION is provided."],
    [['image-import', q, ...web, '--remote-image-id', REMOTE_ID], "Import method should be 'glance-download' if REMOTE IMAGE ID is provided."],
    [['image-import', q, ...web, '--remote-service-interface', 'internal'], "Import method should be 'glance-download' if REMOTE SERVICE INTERFACE is provided."],
    [['image-import', q, '--remote-region', 'RegionTwo'], "Import method should be 'glance-download' if REMOTE REGION is provided."],
    [
      [...gdl, '--remote-image-id', REMOTE_ID],
      'REMOTE GlANCE REGION and REMOTE IMAGE ID are required for glance-download import method. Please use --remote-region <region> and --remote-image-id <remote-image-id>.',
    ],
    [[...full, '--uri', 'https://example.com/disk.img'], 'You cannot specify a --uri with the glance-download import method.'],
    [[...full, '--file', join(home, 'iris-api.conf')], 'You cannot specify a --file with the glance-download import method.'],
    [[...full, '--file', '-'], 'You cannot pass data via stdin with the glance-download import method.', 'data'],
  ];
  // Two CLIs at a time: a small shared machine.
  const results: CliResult[] = new Array(cases.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < cases.length; i = next++) results[i] = await run(cases[i]![0], cases[i]![2]);
  };
  await Promise.all([lane(), lane()]);
  results.forEach((r, i) => {
    assert.equal(r.code, 1, r.describe());
    assert.equal(r.stderr, `${cases[i]![1]}\n`, r.describe());
    assert.equal(r.stdout, '', r.describe());
  });
  assert.equal(await count(), before, 'no image created');
  const tasks = await json('GET', `${server.baseUrl}/v2/images/${q}/tasks`, undefined, headers);
  assert.deepEqual(tasks.body.tasks, [], 'no import started');
});

test('help lists the remote flags of both commands (no server needed)', { timeout: 60_000 }, async () => {
  const [imp, create] = await Promise.all([
    iris('http://127.0.0.1:9', home, ['help', 'image-import']),
    iris('http://127.0.0.1:9', home, ['help', 'image-create-via-import']),
  ]);
  for (const [r, region] of [[imp, 'REMOTE_GLANCE_REGION'], [create, 'GLANCE_REGION']] as const) {
    assert.equal(r.code, 0, r.describe());
    for (const flag of [`--remote-region <${region}>`, '--remote-image-id <REMOTE_IMAGE_ID>', '--remote-service-interface <REMOTE_SERVICE_INTERFACE>']) {
      assert.ok(r.stdout.includes(flag), `${flag} in:\n${r.stdout}`);
    }
  }
});
