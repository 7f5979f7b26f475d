/**
 * `iris` prints what `glance` (Debian's python-glanceclient 4.1.0) prints, byte for byte, for
 * the same commands against the same live Iris: detail tables (sorted keys, Python spellings,
 * JSON lists, wrapping at --max-column-width), list tables, member tables.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { makeHome, runCli } from '../helpers/cli.js';
import { json, patch, putBytes } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { iris } from './iris-cli.js';

const haveGlance = requireTool('glance', GLANCE);
const STEP = { skip: haveGlance ? false : 'glance not installed', timeout: 120_000 };

let server: IrisProcess;
let home: string;
let id: string;

before(async () => {
  if (!haveGlance) return;
  server = await startIris();
  home = makeHome();
  const created = await json('POST', `${server.baseUrl}/v2/images`, {
    name: 'parity',
    disk_format: 'raw', // random bytes are no qcow2: the format inspector would refuse them
    container_format: 'bare',
    visibility: 'shared',
    os_distro: 'cirros',
    long_note: `${'word '.repeat(30)}tail-of-the-note`,
    tags: ['b-tag', 'a-tag'],
  });
  assert.equal(created.status, 201, created.text);
  id = created.body.id;
  assert.equal((await putBytes(`${server.baseUrl}/v2/images/${id}/file`, randomBytes(300_000))).status, 204);
  assert.equal((await patch(`${server.baseUrl}/v2/images/${id}`, [{ op: 'add', path: '/hw_disk_bus', value: 'virtio' }])).status, 200);
  assert.equal((await json('POST', `${server.baseUrl}/v2/images/${id}/members`, { member: 'proj-parity' })).status, 200);
  await json('POST', `${server.baseUrl}/v2/images`, { name: 'parity-queued' });
});

after(async () => {
  if (!haveGlance) return;
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function same(...args: string[]): Promise<void> {
  const base = server.baseUrl;
  const [ours, theirs] = await Promise.all([
    iris(base, home, args),
    runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', 'dummy', '--os-auth-url', `${base}/no-keystone`, ...args], { home }),
  ]);
  assert.equal(theirs.code, 0, theirs.describe());
  assert.equal(ours.code, 0, ours.describe());
  assert.equal(ours.stdout, theirs.stdout, `iris and glance differ for: ${args.join(' ')}`);
}

test('image-show, plain and wrapped at --max-column-width 30', STEP, async () => {
  await same('image-show', id);
  await same('image-show', '--max-column-width', '30', '--human-readable', id);
});

test('image-list --verbose and member-list', STEP, async () => {
  await Promise.all([same('--verbose', 'image-list'), same('member-list', '--image-id', id)]);
});
