/**
 * Debian's glanceclient 4.1.0 (/usr/bin/glance) against Iris: the whole image lifecycle as a
 * user types it. No keystone: `--os-auth-token` + `--os-image-url` skip it, and a dummy
 * `--os-auth-url` keeps glanceclient from reading back a cached schema (see
 * /work/shared/peer-glance/README.md). Set IRIS_TEST_TARGET=http://127.0.0.1:9293 to run the
 * same steps against the reference Glance.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLANCE, requireTool } from '../helpers/tools.js';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { openTarget, type Target } from '../helpers/target.js';
import { json } from '../helpers/http.js';

const haveGlance = requireTool('glance', GLANCE);
const skip = haveGlance ? false : 'glance not installed';
const STEP = { skip, timeout: 120_000 };

let target: Target;
let work: string;
let home: string;
let imageFile: string;
let data: Buffer;
let id: string | undefined;
// Unique: the reference peer is shared with other test runs.
const name = `iris-glancecli-${randomBytes(4).toString('hex')}`;

before(async () => {
  if (!haveGlance) return;
  target = await openTarget();
  work = mkdtempSync(join(tmpdir(), 'iris-glancecli-'));
  home = makeHome();
  data = randomBytes(3 * 1024 * 1024 + 12345); // a few MiB, not a multiple of any chunk size
  imageFile = join(work, 'disk.img');
  writeFileSync(imageFile, data);
});

after(async () => {
  if (!haveGlance) return;
  // A failed step may leave the image behind; the peer is shared, so clean up over HTTP.
  if (id !== undefined) await json('DELETE', `${target.baseUrl}/v2/images/${id}`).catch(() => {});
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  await target.close();
});

function glance(...args: string[]): Promise<CliResult> {
  const base = target.baseUrl;
  return runCli(
    GLANCE,
    ['--os-image-url', base, '--os-auth-token', 'dummy', '--os-auth-url', `${base}/no-keystone`, ...args],
    { home },
  );
}

/** Runs a glance command that must succeed; the message carries its stderr and Iris's log tail. */
async function ok(...args: string[]): Promise<CliResult> {
  const r = await glance(...args);
  assert.equal(r.code, 0, r.describe() + serverTail());
  return r;
}

function serverTail(): string {
  const logs = target.logs();
  return logs ? `--- server log (tail) ---\n${logs.slice(-3000)}\n` : '';
}

function needId(): string {
  assert.ok(id, 'no image id: image-create failed earlier');
  return id;
}

async function show(): Promise<Record<string, string>> {
  return parsePropertyTable((await ok('image-show', needId())).stdout);
}

test('image-create --file uploads and prints an active image', STEP, async () => {
  const r = await ok(
    'image-create',
    '--name', name,
    '--disk-format', 'raw',
    '--container-format', 'bare',
    '--property', 'k=v',
    '--file', imageFile,
  );
  const img = parsePropertyTable(r.stdout);
  id = img.id;
  assert.match(id ?? '', /^[0-9a-f-]{36}$/, r.describe());
  assert.equal(img.name, name, r.describe());
  assert.equal(img.status, 'active', r.describe());
  assert.equal(img.k, 'v', r.describe());
  assert.equal(img.size, String(data.length), r.describe());
});

test('image-list shows the image', STEP, async () => {
  const r = await ok('image-list');
  const row = parseTable(r.stdout).find((x) => x.ID === needId());
  assert.ok(row, `image ${id} not in image-list` + r.describe());
  assert.equal(row.Name, name);
});

test('image-show: status, size, md5 checksum and sha512 multihash of the file', STEP, async () => {
  const img = await show();
  assert.equal(img.id, id);
  assert.equal(img.status, 'active');
  assert.equal(img.size, String(data.length));
  assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
  assert.equal(img.os_hash_algo, 'sha512');
  assert.equal(img.os_hash_value, createHash('sha512').update(data).digest('hex'));
  assert.equal(img.disk_format, 'raw');
  assert.equal(img.container_format, 'bare');
  assert.equal(img.k, 'v');
});

test('image-update --name --property --remove-property', STEP, async () => {
  const r = await ok('image-update', '--name', `${name}-2`, '--property', 'a=b', '--remove-property', 'k', needId());
  const printed = parsePropertyTable(r.stdout);
  assert.equal(printed.name, `${name}-2`, r.describe());
  const img = await show();
  assert.equal(img.name, `${name}-2`);
  assert.equal(img.a, 'b');
  assert.equal(img.k, undefined, 'property k was removed');
  assert.equal(img.status, 'active');
});

test('image-tag-update then image-tag-delete', STEP, async () => {
  await ok('image-tag-update', needId(), 'iris-tag');
  assert.match((await show()).tags ?? '', /["']iris-tag["']/); // printed as JSON: ["iris-tag"]
  await ok('image-tag-delete', needId(), 'iris-tag');
  assert.doesNotMatch((await show()).tags ?? '', /iris-tag/);
});

test('image-deactivate then image-reactivate', STEP, async () => {
  await ok('image-deactivate', needId());
  assert.equal((await show()).status, 'deactivated');
  await ok('image-reactivate', needId());
  assert.equal((await show()).status, 'active');
});

test('image-download --file gives back the same bytes', STEP, async () => {
  const out = join(work, 'out.img');
  await ok('image-download', '--file', out, needId());
  const got = readFileSync(out);
  assert.equal(got.length, data.length);
  assert.ok(got.equals(data), 'downloaded bytes differ from the uploaded file');
});

test('image-delete, then image-show fails with 404', STEP, async () => {
  await ok('image-delete', needId());
  const gone = id;
  id = undefined;
  const r = await glance('image-show', gone!);
  assert.notEqual(r.code, 0, r.describe() + serverTail());
  assert.match(r.stderr, /404|no image found/i, r.describe() + serverTail());
});
