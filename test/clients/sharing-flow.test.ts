/**
 * Image sharing as users type it with the unchanged glanceclient: the owner (project p1) shares
 * an image with p2 (`member-create`), p2 accepts (`member-update … accepted`), lists and
 * downloads it, the owner lists its members and removes p2 (`member-delete`), and p2 loses it.
 * Identities come from `peer:<project>:<roles>` tokens (Iris's hybrid flavor reads them as the
 * peer Glance's shim does), so the same test runs against the peer with IRIS_TEST_TARGET.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { openTarget, type Target } from '../helpers/target.js';

const haveGlance = requireTool('glance', GLANCE);
const OWNER = 'peer:aaaaaaaa000000000000000000000001:member,reader';
const CONSUMER_PROJECT = 'bbbbbbbb000000000000000000000002';
const CONSUMER = `peer:${CONSUMER_PROJECT}:member,reader`;

let target: Target;
let home: string;
let work: string;

before(async () => {
  if (!haveGlance) return;
  target = await openTarget();
  home = makeHome();
  work = mkdtempSync(join(tmpdir(), 'iris-sharing-'));
});
after(async () => {
  if (!haveGlance) return;
  await target.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

function glance(token: string, ...args: string[]): Promise<CliResult> {
  const argv = ['--os-image-url', target.baseUrl, '--os-auth-token', token, '--os-auth-url', `${target.baseUrl}/no-keystone`, ...args];
  return runCli(GLANCE, argv, { home });
}

async function ok(run: Promise<CliResult>): Promise<CliResult> {
  const r = await run;
  assert.equal(r.code, 0, `${r.describe()}\n${target.logs().slice(-2000)}`);
  return r;
}

test('share, accept, list, download, unshare with glanceclient', { skip: haveGlance ? false : 'glance not installed', timeout: 120_000 }, async () => {
  const data = randomBytes(70_000);
  const file = join(work, 'disk.raw');
  writeFileSync(file, data);
  const created = parsePropertyTable(
    (await ok(glance(OWNER, 'image-create', '--name', 'shared-by-cli', '--disk-format', 'raw', '--container-format', 'bare', '--visibility', 'shared', '--file', file))).stdout,
  );
  const id = created.id;
  assert.ok(id, 'image-create printed no id');
  assert.equal(created.status, 'active');
  try {
    // Not shared yet: the consumer cannot see it.
    assert.notEqual((await glance(CONSUMER, 'image-show', id)).code, 0);

    const added = parseTable((await ok(glance(OWNER, 'member-create', id, CONSUMER_PROJECT))).stdout);
    assert.deepEqual(added.map((m) => [m['Image ID'], m['Member ID'], m.Status]), [[id, CONSUMER_PROJECT, 'pending']]);
    // Pending: visible by id, not in the consumer's default list.
    assert.equal(parsePropertyTable((await ok(glance(CONSUMER, 'image-show', id))).stdout).id, id);
    assert.ok(!(await ok(glance(CONSUMER, 'image-list'))).stdout.includes(id), 'a pending share is not listed');

    const accepted = parseTable((await ok(glance(CONSUMER, 'member-update', id, CONSUMER_PROJECT, 'accepted'))).stdout);
    assert.equal(accepted[0]?.Status, 'accepted');
    assert.ok((await ok(glance(CONSUMER, 'image-list'))).stdout.includes(id), 'an accepted share is listed');
    const out = join(work, 'downloaded.raw');
    await ok(glance(CONSUMER, 'image-download', '--file', out, id));
    assert.equal(createHash('md5').update(readFileSync(out)).digest('hex'), createHash('md5').update(data).digest('hex'));

    const members = parseTable((await ok(glance(OWNER, 'member-list', '--image-id', id))).stdout);
    assert.deepEqual(members.map((m) => [m['Member ID'], m.Status]), [[CONSUMER_PROJECT, 'accepted']]);
    // The consumer may not share someone else's image further.
    assert.notEqual((await glance(CONSUMER, 'member-create', id, 'cccccccc000000000000000000000003')).code, 0);

    await ok(glance(OWNER, 'member-delete', id, CONSUMER_PROJECT));
    assert.equal(parseTable((await ok(glance(OWNER, 'member-list', '--image-id', id))).stdout).length, 0);
    const gone = await glance(CONSUMER, 'image-show', id);
    assert.notEqual(gone.code, 0, gone.describe());
    assert.match(gone.stderr + gone.stdout, /404|No image/i);
  } finally {
    await glance(OWNER, 'image-delete', id);
  }
});
