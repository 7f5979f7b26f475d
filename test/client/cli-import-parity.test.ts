/**
 * `iris` prints what `glance` (Debian's python-glanceclient 4.1.0) prints, byte for byte, for
 * the import discovery and task commands against the same multi-store target (see
 * import-target.ts): import-info, stores-info (plain and --detail), task-list (default order,
 * filters, paging), task-show, image-tasks (plain and --verbose).
 *
 * The tasks API is admin-only under Glance's defaults (`tasks_api_access`), and an admin sees
 * every project's tasks: both clients list the same server state, so the tables still match.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { makeHome, runCli } from '../helpers/cli.js';
import { json, putBytes } from '../helpers/http.js';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { seededBytes, waitForImage } from './import-helpers.js';
import { identity, openImportTarget, peerToken, type ImportTarget } from './import-target.js';
import { iris } from './iris-cli.js';

const haveGlance = requireTool('glance', GLANCE);

let target: ImportTarget | undefined;
let home: string;
const project = `cli-parity-${randomBytes(4).toString('hex')}`;
const member = peerToken(project, 'member');
const admin = peerToken(project, 'admin');
let imageId: string;
let taskIds: string[] = [];

/** Imports `count` images with glance-direct over HTTP, as `member`; returns the last image's id. */
async function importImages(baseUrl: string, count: number): Promise<string> {
  const headers = identity(member);
  let id = '';
  for (let i = 0; i < count; i++) {
    const created = await json('POST', `${baseUrl}/v2/images`, { name: `parity-${i}`, disk_format: 'raw', container_format: 'bare' }, headers);
    assert.equal(created.status, 201, created.text);
    id = created.body.id;
    const staged = await putBytes(`${baseUrl}/v2/images/${id}/stage`, seededBytes(200_000 + i, `${project}-${i}`), headers);
    assert.equal(staged.status, 204, staged.text);
    const imported = await json('POST', `${baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, headers);
    assert.equal(imported.status, 202, imported.text);
    await waitForImage(baseUrl, id, headers, (img) => img.status === 'active');
  }
  return id;
}

before(async () => {
  if (!haveGlance) return;
  home = makeHome();
  target = await openImportTarget();
  imageId = await importImages(target.baseUrl, 3);
  // Tasks turn `success` a moment after their image turns active.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const listed = await json('GET', `${target.baseUrl}/v2/tasks?limit=1000`, undefined, identity(admin));
    const tasks = ((listed.body.tasks ?? []) as { id: string; status: string; owner: string }[]).filter((t) => t.owner === project);
    if ((tasks.length === 3 && tasks.every((t) => t.status === 'success')) || Date.now() > deadline) {
      taskIds = tasks.map((t) => t.id);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(taskIds.length, 3, 'three import tasks in the project');
});

after(async () => {
  if (target === undefined) return;
  const images = await json('GET', `${target.baseUrl}/v2/images?owner=${project}`, undefined, identity(admin));
  for (const image of images.body.images ?? []) await json('DELETE', `${target.baseUrl}/v2/images/${image.id}`, undefined, identity(admin));
  await target.close();
  rmSync(home, { recursive: true, force: true });
});

async function same(token: string, ...args: string[]): Promise<void> {
  const base = target!.baseUrl;
  const [ours, theirs] = await Promise.all([
    iris(base, home, args, { env: { OS_AUTH_TOKEN: token } }),
    runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', token, '--os-auth-url', `${base}/no-keystone`, ...args], { home }),
  ]);
  assert.equal(theirs.code, 0, theirs.describe());
  assert.equal(ours.code, 0, ours.describe());
  assert.equal(ours.stdout, theirs.stdout, `iris and glance differ for: ${args.join(' ')}`);
}

// The only skip: glance itself missing (requireTool printed it; under CI=true it threw).
const STEP = { skip: !haveGlance && 'glance not installed', timeout: 120_000 };

test('import-info and stores-info, plain and --detail (admin)', STEP, async () => {
  await Promise.all([same(member, 'import-info'), same(member, 'stores-info'), same(admin, 'stores-info', '--detail')]);
});

test('task-list: default order, filters, sort flags and pages of one', STEP, async () => {
  await Promise.all([
    same(admin, 'task-list'),
    same(admin, 'task-list', '--status', 'success', '--sort-key', 'id', '--sort-dir', 'asc', '--page-size', '1'),
    same(admin, 'task-list', '--status', 'failure', '--sort-key', 'type'),
  ]);
});

test('task-show and image-tasks (plain and --verbose)', STEP, async () => {
  await Promise.all([
    same(admin, 'task-show', taskIds[0]!),
    same(member, 'image-tasks', imageId),
    same(member, '--verbose', 'image-tasks', imageId),
  ]);
});

test('errors: an unknown task, an unknown image in image-tasks, task-list as a member (403)', STEP, async () => {
  const base = target!.baseUrl;
  const missing = '00000000-0000-4000-8000-000000000000';
  for (const [token, args] of [[admin, ['task-show', missing]], [member, ['image-tasks', missing]], [member, ['task-list']]] as const) {
    const [ours, theirs] = await Promise.all([
      iris(base, home, args, { env: { OS_AUTH_TOKEN: token } }),
      runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', token, '--os-auth-url', `${base}/no-keystone`, ...args], { home }),
    ]);
    assert.equal(ours.code, theirs.code, `${ours.describe()}${theirs.describe()}`);
    // iris adds the request id to an HTTP error line; the text before it is glanceclient's.
    assert.equal(ours.stderr.replace(/ \(Request-ID: [^)]+\)\n$/, '\n'), theirs.stderr, `${ours.describe()}${theirs.describe()}`);
  }
});
