/**
 * Import plugins over real HTTP, configured as Glance configures them
 * (image_decompression, image_conversion, inject_image_metadata), multi-store as in
 * import.test.ts. qemu-img is reached through a recording wrapper put first on the server's
 * PATH, which is how the tests prove that an unsafe image never reaches it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { requireTool } from '../helpers/tools.js';
import { QEMU_IMG, qemuInfo } from '../format/corpus.js';
import { recordingTool } from '../import/plugins-helpers.js';

const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };
const A_ADMIN = { ...A, 'X-Roles': 'admin,member,reader' };

const haveQemu = requireTool('qemu-img (Debian package qemu-utils)', QEMU_IMG);
const skip = !haveQemu && 'qemu-img not installed';

let iris: IrisProcess;
let base: string;
let work: string;
let qemu: ReturnType<typeof recordingTool>;
let web: Server;
let webPort: number;
const cleanups: (() => void)[] = [];

/** 1 MiB + 4 KiB of patterned data: the disk every image here holds. */
const PAYLOAD = (() => {
  const data = Buffer.alloc(1024 * 1024 + 4096);
  for (let at = 0; at < data.length; at += 512) if ((at / 512) % 5 !== 0) data.fill((at / 512) % 253, at, at + 512);
  return data;
})();
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const path = (name: string) => join(work, name);
const qemuImg = (...args: string[]) => execFileSync(QEMU_IMG, args, { stdio: 'pipe' });

before(async () => {
  if (!haveQemu) return;
  work = mkdtempSync(join(tmpdir(), 'iris-import-plugins-'));
  qemu = recordingTool({ after: (fn) => cleanups.push(fn) }, QEMU_IMG);
  // The server finds qemu-img on PATH, as Glance does: put the wrapper there under that name.
  const bin = path('bin');
  execFileSync('mkdir', ['-p', bin]);
  execFileSync('ln', ['-s', qemu.path, join(bin, 'qemu-img')]);
  writeFileSync(path('payload.raw'), PAYLOAD);
  web = createServer((req, res) => {
    const body = req.url === '/disk.qcow2.gz' ? readFileSync(path('disk.qcow2.gz')) : null;
    res.writeHead(body ? 200 : 404, body ? { 'Content-Length': String(body.length) } : {});
    res.end(body ?? 'no');
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  webPort = (web.address() as AddressInfo).port;
  iris = await startIris({
    env: {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[image_decompression,image_conversion,inject_image_metadata]',
      IRIS__IMAGE_CONVERSION__OUTPUT_FORMAT: 'raw',
      IRIS__INJECT_METADATA_PROPERTIES__INJECT: 'injected_by:iris-test,hw_disk_bus:virtio,os_glance_sneaky:x',
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: `80,443,${webPort}`,
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  web?.close();
  for (const fn of cleanups) fn();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function create(name: string, extra: Record<string, unknown> = {}, headers = A): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name, container_format: 'bare', ...extra }, headers);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

const show = async (id: string) => (await json('GET', `${base}/v2/images/${id}`, undefined, A)).body;

async function settle(id: string): Promise<any> {
  for (let i = 0; i < 400; i++) {
    const image = await show(id);
    if (image.os_glance_import_task === undefined && image.status !== 'importing') return image;
    await sleep(50);
  }
  throw new Error(`import of ${id} did not finish:\n${iris.logs().slice(-3000)}`);
}

async function taskOf(id: string): Promise<any> {
  const r = await json('GET', `${base}/v2/images/${id}/tasks`, undefined, A);
  assert.equal(r.status, 200, describe(r));
  assert.equal(r.body.tasks.length, 1);
  return r.body.tasks[0];
}

async function stageAndImport(id: string, data: Buffer, headers = A): Promise<any> {
  const staged = await putBytes(`${base}/v2/images/${id}/stage`, data, headers);
  assert.equal(staged.status, 204, describe(staged));
  const accepted = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, headers);
  assert.equal(accepted.status, 202, describe(accepted));
  return settle(id);
}

/** qemu-img runs that named this image's staged file. */
const qemuRunsOn = (id: string) => qemu.calls().filter((args) => args.some((a) => a.endsWith(`/${id}`)));

/** Files in the staging area's temp directory (converted and decompressed files pass there). */
function stagingTemp(): string[] {
  const dir = join(iris.dataDir, 'staging', '.tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('a gzipped qcow2 declared qcow2 becomes an active raw image', { skip }, async () => {
  qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', path('payload.raw'), path('disk.qcow2'));
  const qcow2 = readFileSync(path('disk.qcow2'));
  const sourceVirtualSize = qemuInfo(path('disk.qcow2'), 'qcow2')?.['virtual-size'];
  assert.equal(sourceVirtualSize, PAYLOAD.length);

  const id = await create('gz-qcow2', { disk_format: 'qcow2', hw_disk_bus: 'ide' });
  const image = await stageAndImport(id, gzipSync(qcow2));
  assert.equal(image.status, 'active', `${JSON.stringify(image)}\n${iris.logs().slice(-3000)}`);
  assert.equal(image.disk_format, 'raw');
  assert.equal(image.container_format, 'bare');
  assert.equal(image.virtual_size, sourceVirtualSize);
  assert.equal(image.size, PAYLOAD.length);
  assert.equal(image.checksum, md5(PAYLOAD));
  assert.equal(image.stores, 'local');
  // inject_image_metadata: the configured values win over the image's own; os_glance* dropped.
  assert.equal(image.injected_by, 'iris-test');
  assert.equal(image.hw_disk_bus, 'virtio');
  assert.equal(image.os_glance_sneaky, undefined);
  const task = await taskOf(id);
  assert.equal(task.status, 'success', JSON.stringify(task));

  const data = await fetch(`${base}/v2/images/${id}/file`, { headers: A });
  assert.equal(data.status, 200);
  assert.ok(Buffer.from(await data.arrayBuffer()).equals(PAYLOAD));
  assert.deepEqual(qemuRunsOn(id).map((args) => args[0]), ['info', 'convert']);
  assert.match(iris.logs(), new RegExp(`"image":"${id}".*image_conversion: qemu-img convert`));
  assert.deepEqual(stagingTemp(), []);
});

test('a qcow2 with a backing file fails the task; qemu-img never runs on it', { skip }, async () => {
  qemuImg('create', '-q', '-f', 'qcow2', path('base.qcow2'), '1M');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', path('base.qcow2'), '-F', 'qcow2', path('backing.qcow2'));
  const id = await create('backing', { disk_format: 'qcow2' });
  // Gzipped too: decompression runs, then the inspector refuses what came out.
  const image = await stageAndImport(id, gzipSync(readFileSync(path('backing.qcow2'))));
  assert.equal(image.status, 'queued', JSON.stringify(image));
  assert.equal(image.disk_format, 'qcow2');
  assert.equal(image.size, null);
  assert.equal(image.checksum, null);
  assert.equal(image.stores, undefined);
  assert.equal(image.injected_by, undefined, 'the plugin after the failure never ran');
  assert.equal(image.os_glance_failed_import, 'local');
  const task = await taskOf(id);
  assert.equal(task.status, 'failure');
  assert.match(task.message, /^Image conversion refused: Image failed safety checks: .*backing/i);
  assert.deepEqual(qemuRunsOn(id), [], 'qemu-img must never see the image');
  assert.doesNotMatch(iris.logs(), new RegExp(`"image":"${id}".*qemu-img`));
  assert.deepEqual(stagingTemp(), []);
  assert.equal(existsSync(join(iris.dataDir, 'staging', id)), false, 'the staged data is gone');
  const active = (await json('GET', `${base}/v2/images?status=active&name=backing`, undefined, A)).body.images;
  assert.deepEqual(active, []);
});

test('an admin’s import gets no injected properties (ignore_user_roles)', { skip }, async () => {
  const id = await create('by-admin', { disk_format: 'raw' }, A_ADMIN);
  const image = await stageAndImport(id, PAYLOAD, A_ADMIN);
  assert.equal(image.status, 'active', JSON.stringify(image));
  assert.equal(image.injected_by, undefined);
  assert.equal(image.disk_format, 'raw');
  assert.equal(image.virtual_size, PAYLOAD.length);
  // Already raw: checked by qemu-img info, not converted.
  assert.deepEqual(qemuRunsOn(id).map((args) => args[0]), ['info']);
});

test('web-download runs the plugins too', { skip }, async () => {
  qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', path('payload.raw'), path('web.qcow2'));
  writeFileSync(path('disk.qcow2.gz'), gzipSync(readFileSync(path('web.qcow2'))));
  const id = await create('web', { disk_format: 'qcow2' });
  const accepted = await json(
    'POST',
    `${base}/v2/images/${id}/import`,
    { method: { name: 'web-download', uri: `http://127.0.0.1:${webPort}/disk.qcow2.gz` } },
    A,
  );
  assert.equal(accepted.status, 202, describe(accepted));
  const image = await settle(id);
  assert.equal(image.status, 'active', `${JSON.stringify(image)}\n${iris.logs().slice(-3000)}`);
  assert.equal(image.disk_format, 'raw');
  assert.equal(image.checksum, md5(PAYLOAD));
  assert.equal(image.injected_by, 'iris-test');
});

test('copy-image runs no plugin', { skip }, async () => {
  const id = await create('copy', { disk_format: 'raw' });
  await stageAndImport(id, gzipSync(PAYLOAD));
  const before = qemu.calls().length;
  const accepted = await json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] }, A_ADMIN);
  assert.equal(accepted.status, 202, describe(accepted));
  let image: any;
  for (let i = 0; i < 200; i++) {
    image = await settle(id);
    if (image.stores === 'local,local2') break;
    await sleep(50);
  }
  assert.equal(image.stores, 'local,local2');
  assert.equal(image.checksum, md5(PAYLOAD));
  assert.equal(qemu.calls().length, before);
});
