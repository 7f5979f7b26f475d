/**
 * Debian's glanceclient against Iris with `default_store = rbd` on the project's one-node Ceph:
 * create with a file, show (direct_url is the rbd location), download, then what a cloud with
 * Nova on RBD sees: while a clone of the image's snapshot exists, image-delete fails with
 * Glance's 409, and succeeds once the clone is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable } from '../helpers/cli-table.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { requireCeph, startCeph, type CephServer } from '../helpers/ceph-server.js';

const ready = requireTool('glance', GLANCE) && requireCeph();

let ceph: CephServer;
let iris: IrisProcess;
let work: string;
let home: string;

before(async () => {
  if (!ready) return;
  ceph = await startCeph();
  iris = await startIris({
    env: {
      IRIS__GLANCE_STORE__STORES: 'rbd',
      IRIS__GLANCE_STORE__DEFAULT_STORE: 'rbd',
      IRIS__GLANCE_STORE__RBD_STORE_CEPH_CONF: ceph.conf,
      IRIS__GLANCE_STORE__RBD_STORE_USER: ceph.user,
      IRIS__GLANCE_STORE__RBD_STORE_CHUNK_SIZE: '1',
      IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
    },
  });
  work = mkdtempSync(join(tmpdir(), 'iris-glancecli-rbd-'));
  home = makeHome();
});

after(async () => {
  if (!ready) return;
  await iris?.stop();
  await ceph?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

function glance(...args: string[]): Promise<CliResult> {
  const base = iris.baseUrl;
  return runCli(GLANCE, ['--os-image-url', base, '--os-auth-token', 'dummy', '--os-auth-url', `${base}/no-keystone`, ...args], { home });
}

async function ok(...args: string[]): Promise<CliResult> {
  const r = await glance(...args);
  assert.equal(r.code, 0, `${r.describe()}\n--- server log (tail) ---\n${iris.logs().slice(-3000)}`);
  return r;
}

test('glanceclient lifecycle on rbd, with a clone holding the image', { skip: !ready && 'glance or Ceph not installed', timeout: 180_000 }, async () => {
  const data = randomBytes(3 * 1024 * 1024 + 12345);
  const file = join(work, 'disk.img');
  writeFileSync(file, data);
  const created = parsePropertyTable((await ok('image-create', '--name', 'rbd-cli', '--disk-format', 'raw', '--container-format', 'bare', '--file', file)).stdout);
  const id = created.id!;
  assert.equal(created.status, 'active');
  assert.equal(created.size, String(data.length));

  const shown = parsePropertyTable((await ok('image-show', id)).stdout);
  assert.equal(shown.direct_url, `rbd://${ceph.fsid}/${ceph.pool}/${id}/snap`);

  const out = join(work, 'out.img');
  await ok('image-download', '--file', out, id);
  assert.ok(readFileSync(out).equals(data), 'downloaded bytes equal the uploaded file');

  await ceph.rbd('clone', `${ceph.pool}/${id}@snap`, `${ceph.pool}/vm-disk`);
  const refused = await glance('image-delete', id);
  assert.notEqual(refused.code, 0, refused.describe());
  assert.match(refused.stderr, /409|in use/i, refused.describe());
  assert.equal(parsePropertyTable((await ok('image-show', id)).stdout).status, 'active');

  await ceph.rbd('rm', `${ceph.pool}/vm-disk`);
  await ok('image-delete', id);
  assert.doesNotMatch(await ceph.rbd('ls', ceph.pool), new RegExp(id));
});
