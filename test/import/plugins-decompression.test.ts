/**
 * The image_decompression import plugin on real archives: gzip from node:zlib and Debian's
 * gzip, zip from Debian's zip (extracted with unzip), LHA archives written here in the
 * stored (-lh0-) method and extracted with Debian's lhasa (Debian has no LHA archiver outside
 * Java). Bombs stop at image_size_cap; several members, corrupt data and tools that are not
 * there fail the import and leave the staged data as it was.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Invalid, TooLarge } from '../../src/domain/errors.js';
import { compressionOf, createImageDecompressionPlugin } from '../../src/import/plugins/image-decompression.js';
import { requireTool } from '../helpers/tools.js';
import { staging } from './plugins-helpers.js';

const GZIP = '/usr/bin/gzip';
const ZIP = '/usr/bin/zip';
const UNZIP = '/usr/bin/unzip';
const LHA = '/usr/bin/lha';
const haveZip = requireTool('zip (Debian package zip)', ZIP) && requireTool('unzip (Debian package unzip)', UNZIP);
const haveLha = requireTool('lha (Debian package lhasa)', LHA);
const haveGzip = requireTool('gzip (Debian package gzip)', GZIP);

const MIB = 1024 * 1024;
const PAYLOAD = (() => {
  const data = Buffer.alloc(300 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251 ^ (i >> 10);
  return data;
})();

const plugin = (imageSizeCap = 64 * MIB) => createImageDecompressionPlugin({ imageSizeCap, unzip: UNZIP, lha: LHA });

function workdir(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'iris-archives-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

/** A zip made by Debian's zip from `files` (name → data), read back. */
function zipOf(path: (name: string) => string, files: Record<string, Buffer>, flags: string[] = []): Buffer {
  const archive = path(`a${Math.random().toString(36).slice(2)}.zip`);
  const names = Object.keys(files);
  for (const [name, data] of Object.entries(files)) writeFileSync(path(name), data);
  execFileSync(ZIP, ['-q', ...flags, archive, ...names], { cwd: path('') });
  return readFileSync(archive);
}

/** CRC-16/ARC, LHA's member checksum. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** An LHA archive, level-0 headers, stored members (-lh0-), as LHa for UNIX writes them with -z. */
function lhaOf(files: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = Buffer.from(name, 'latin1');
    const header = Buffer.alloc(24 + nameBytes.length);
    header[0] = 22 + nameBytes.length;
    header.write('-lh0-', 2, 'latin1');
    header.writeUInt32LE(data.length, 7);
    header.writeUInt32LE(data.length, 11);
    header.writeUInt32LE(0x5a210000, 15);
    header[19] = 0x20;
    header[20] = 0;
    header[21] = nameBytes.length;
    nameBytes.copy(header, 22);
    header.writeUInt16LE(crc16(data), 22 + nameBytes.length);
    let sum = 0;
    for (let i = 2; i < header.length; i++) sum = (sum + header[i]!) & 0xff;
    header[1] = sum;
    parts.push(header, data);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

test('magic numbers as Glance reads them', () => {
  assert.equal(compressionOf(gzipSync(Buffer.from('x'))), 'gzip');
  assert.equal(compressionOf(Buffer.from('PK\x03\x04rest', 'latin1')), 'zip');
  assert.equal(compressionOf(Buffer.from('\x20\x00-lh5-', 'latin1')), 'lha');
  assert.equal(compressionOf(Buffer.from('QFI\xfb', 'latin1')), null);
  assert.equal(compressionOf(Buffer.from('PK\x05\x06', 'latin1')), null, 'an empty zip is no archive of an image');
  assert.equal(compressionOf(Buffer.alloc(2)), null);
});

test('gzip: decompressed in place, formats untouched, no temp file left', async (t) => {
  const st = staging(t);
  const ctx = st.stage(gzipSync(PAYLOAD), { disk_format: 'qcow2', container_format: 'bare' });
  assert.equal(await plugin().run(ctx), undefined, 'disk_format and container_format stay as declared');
  assert.ok(readFileSync(ctx.stagedPath).equals(PAYLOAD));
  assert.deepEqual(st.leftovers(), []);
  // Concatenated members are one stream, as Python's gzip module reads them.
  const two = st.stage(Buffer.concat([gzipSync(PAYLOAD.subarray(0, 1000)), gzipSync(PAYLOAD.subarray(1000))]));
  await plugin().run(two);
  assert.ok(readFileSync(two.stagedPath).equals(PAYLOAD));
  // One layer only: a gzip inside a gzip stays a gzip.
  const inner = gzipSync(PAYLOAD);
  const nested = st.stage(gzipSync(inner));
  await plugin().run(nested);
  assert.ok(readFileSync(nested.stagedPath).equals(inner));
});

test('gzip made by Debian gzip', { skip: !haveGzip && 'gzip not installed' }, async (t) => {
  const st = staging(t);
  const path = workdir(t);
  writeFileSync(path('disk.img'), PAYLOAD);
  execFileSync(GZIP, ['-9', '-n', path('disk.img')]);
  const ctx = st.stage(readFileSync(path('disk.img.gz')));
  await plugin().run(ctx);
  assert.ok(readFileSync(ctx.stagedPath).equals(PAYLOAD));
});

test('gzip: corrupt or truncated data fails, the staged data stays', async (t) => {
  const st = staging(t);
  const good = gzipSync(PAYLOAD);
  const truncated = good.subarray(0, good.length - 100);
  const corrupt = Buffer.from(good);
  corrupt[corrupt.length - 8]! ^= 1; // the CRC
  for (const [name, data] of [['truncated', truncated], ['bad crc', corrupt]] as const) {
    const ctx = st.stage(data);
    await assert.rejects(plugin().run(ctx), (e: unknown) => e instanceof Invalid && /Image decompression failed: the gzip data is corrupt/.test(e.message), name);
    assert.ok(readFileSync(ctx.stagedPath).equals(data), name);
  }
  assert.deepEqual(st.leftovers(), []);
});

test('gzip bomb: output stops at image_size_cap', async (t) => {
  const st = staging(t);
  const bomb = gzipSync(Buffer.alloc(32 * MIB));
  assert.ok(bomb.length < 64 * 1024);
  const ctx = st.stage(bomb);
  await assert.rejects(plugin(4 * MIB).run(ctx), new TooLarge('The decompressed image exceeds the image size cap of 4194304 bytes.'));
  assert.ok(readFileSync(ctx.stagedPath).equals(bomb));
  assert.deepEqual(st.leftovers(), []);
});

test('not compressed, or container_format compressed: passed through untouched', async (t) => {
  const st = staging(t);
  const plain = st.stage(PAYLOAD);
  assert.equal(await plugin().run(plain), undefined);
  assert.ok(readFileSync(plain.stagedPath).equals(PAYLOAD));
  const gz = gzipSync(PAYLOAD);
  const kept = st.stage(gz, { container_format: 'compressed' });
  assert.equal(await plugin().run(kept), undefined);
  assert.ok(readFileSync(kept.stagedPath).equals(gz));
  assert.deepEqual(st.leftovers(), []);
});

test('zip: the single member replaces the archive', { skip: !haveZip && 'zip/unzip not installed' }, async (t) => {
  const st = staging(t);
  const path = workdir(t);
  for (const flags of [[], ['-0']]) {
    const ctx = st.stage(zipOf(path, { 'disk.img': PAYLOAD }, flags), { disk_format: 'raw' });
    assert.equal(await plugin().run(ctx), undefined);
    assert.ok(readFileSync(ctx.stagedPath).equals(PAYLOAD), `zip ${flags.join(' ')}`);
  }
  assert.deepEqual(st.leftovers(), []);
});

test('zip: several members, a directory, encryption, a bad CRC or a bomb fail the import', { skip: !haveZip && 'zip/unzip not installed' }, async (t) => {
  const st = staging(t);
  const path = workdir(t);
  const refuse = async (name: string, data: Buffer, expected: RegExp, cap?: number) => {
    const ctx = st.stage(data);
    await assert.rejects(plugin(cap).run(ctx), (e: unknown) => (e instanceof Invalid || e instanceof TooLarge) && expected.test(e.message), name);
    assert.ok(readFileSync(ctx.stagedPath).equals(data), `${name}: staged data untouched`);
  };
  await refuse('two members', zipOf(path, { 'a.img': PAYLOAD, 'b.img': PAYLOAD }), /^Image decompression failed: Archive contains more than one file\.$/);
  await refuse('a directory', zipDirectory(path), /holds only a directory/);
  await refuse('encrypted', zipOf(path, { 'secret.img': PAYLOAD }, ['-P', 'password']), /Image decompression failed: unzip/);
  const bad = zipOf(path, { 'disk.img': PAYLOAD }, ['-0']);
  bad[bad.indexOf('disk.img') + 8 + 5000]! ^= 0xff; // a byte of the stored member
  await refuse('bad crc', bad, /Image decompression failed: unzip: .*bad CRC/);
  await refuse('bomb', zipOf(path, { 'zeros.img': Buffer.alloc(16 * MIB) }), /^The decompressed image exceeds the image size cap of 1048576 bytes\.$/, MIB);
  await refuse('not really a zip', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), PAYLOAD]), /not a valid zip archive/);
  assert.deepEqual(st.leftovers(), []);
});

/** A zip holding only the directory entry "somedir/". */
function zipDirectory(path: (name: string) => string): Buffer {
  const archive = path('dir.zip');
  mkdirSync(path('somedir'));
  execFileSync(ZIP, ['-q', archive, 'somedir'], { cwd: path('') });
  return readFileSync(archive);
}

test('lha: the single member replaces the archive', { skip: !haveLha && 'lhasa not installed' }, async (t) => {
  const st = staging(t);
  const ctx = st.stage(lhaOf({ 'disk.img': PAYLOAD }), { disk_format: 'raw' });
  assert.equal(compressionOf(readFileSync(ctx.stagedPath)), 'lha');
  assert.equal(await plugin().run(ctx), undefined);
  assert.ok(readFileSync(ctx.stagedPath).equals(PAYLOAD));
  assert.deepEqual(st.leftovers(), []);
});

test('lha: several members, a bad CRC or a bomb fail the import', { skip: !haveLha && 'lhasa not installed' }, async (t) => {
  const st = staging(t);
  const refuse = async (name: string, data: Buffer, expected: RegExp, cap?: number) => {
    const ctx = st.stage(data);
    await assert.rejects(plugin(cap).run(ctx), (e: unknown) => (e instanceof Invalid || e instanceof TooLarge) && expected.test(e.message), name);
    assert.ok(readFileSync(ctx.stagedPath).equals(data), `${name}: staged data untouched`);
  };
  await refuse('two members', lhaOf({ 'a.img': PAYLOAD, 'b.img': PAYLOAD }), /^Image decompression failed: Archive contains more than one file\.$/);
  const bad = lhaOf({ 'disk.img': PAYLOAD });
  bad[1000]! ^= 0xff;
  await refuse('bad crc', bad, /Image decompression failed: the LHA member is corrupt/);
  await refuse('over the cap', lhaOf({ 'big.img': Buffer.alloc(2 * MIB) }), /^The decompressed image exceeds the image size cap of 1048576 bytes\.$/, MIB);
  assert.deepEqual(st.leftovers(), []);
});

test('a decompressor that is not installed fails the import with its name', async (t) => {
  const st = staging(t);
  const missing = createImageDecompressionPlugin({ imageSizeCap: MIB, unzip: '/nonexistent/unzip', lha: '/nonexistent/lha' });
  await assert.rejects(missing.run(st.stage(Buffer.from('PK\x03\x04xxxxxxxx', 'latin1'))), /\/nonexistent\/unzip is not installed/);
  await assert.rejects(missing.run(st.stage(lhaOf({ a: Buffer.from('a') }))), /\/nonexistent\/lha is not installed/);
  assert.deepEqual(st.leftovers(), []);
});

test('aborting the import stops decompression and removes the temp file', { skip: !haveZip && 'zip/unzip not installed' }, async (t) => {
  const st = staging(t);
  const path = workdir(t);
  const big = Buffer.alloc(128 * MIB);
  for (const [name, data] of [['gzip', gzipSync(big)], ['zip', zipOf(path, { 'zeros.img': big })]] as const) {
    const abort = new AbortController();
    const ctx = st.stage(data, {}, { signal: abort.signal });
    const running = plugin(1 << 30).run(ctx);
    // Abort once the output file exists: decompression is under way.
    let settled = false;
    running.then(() => (settled = true), () => (settled = true));
    while (!settled && st.leftovers().length === 0) await new Promise((r) => setImmediate(r));
    abort.abort(new Invalid('Import interrupted by shutdown'));
    await assert.rejects(running, new Invalid('Import interrupted by shutdown'), name);
    assert.ok(readFileSync(ctx.stagedPath).equals(data), name);
  }
  assert.deepEqual(st.leftovers(), []);
});
