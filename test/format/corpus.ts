/**
 * The format-inspection corpus: small disk images made by the real tools (Debian packages
 * qemu-utils, genisoimage and gdisk) in a temporary directory, plus malicious and lying ones
 * derived from them. Good images carry the virtual size `qemu-img info` reports, which is what
 * the inspector must find; bad ones carry the check that must refuse them.
 *
 * Built once per test process and removed at exit.
 *
 * @example
 *   if (corpusToolsPresent()) for (const image of buildCorpus().good) { … }
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../helpers/tools.js';
import type { DetectedFormat } from '../../src/format/format-inspector.js';
import { seededRandom } from './seeded-random.js';

export const QEMU_IMG = '/usr/bin/qemu-img';
export const GENISOIMAGE = '/usr/bin/genisoimage';
export const SGDISK = '/usr/sbin/sgdisk';

/** What must happen to an image uploaded as `declared`. */
export type Expectation =
  | { readonly accept: true; readonly format: DetectedFormat; readonly virtualSize: number }
  /** `check` names the failed check, or `mismatch` for data of another format. */
  | { readonly accept: false; readonly check: string };

export interface CorpusImage {
  readonly name: string;
  readonly data: Buffer;
  /** The disk_format it is uploaded as. */
  readonly declared: string;
  /** qemu-img's name for the format, for `qemu-img info -f`. */
  readonly qemuFormat: string;
  readonly expect: Expectation;
  /** Byte ranges [start, end) holding headers, descriptors and footers: where fuzzing mutates. */
  readonly hot: readonly (readonly [number, number])[];
}

export interface Corpus {
  readonly dir: string;
  readonly good: readonly CorpusImage[];
  readonly bad: readonly CorpusImage[];
}

/** True when every tool the corpus needs is installed (prints SKIP, or throws under CI=true). */
export function corpusToolsPresent(): boolean {
  const qemu = requireTool('qemu-img (Debian package qemu-utils)', QEMU_IMG);
  const iso = requireTool('genisoimage (Debian package genisoimage)', GENISOIMAGE);
  const gpt = requireTool('sgdisk (Debian package gdisk)', SGDISK);
  return qemu && iso && gpt;
}

/** `qemu-img info --output=json` of a file (with `-f format` when given), or null when it fails. */
export function qemuInfo(path: string, format?: string): Record<string, any> | null {
  const args = ['info', '--output=json', ...(format === undefined ? [] : ['-f', format]), path];
  try {
    return JSON.parse(execFileSync(QEMU_IMG, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch {
    return null;
  }
}

/**
 * `qemuInfo` for many files with one spawn from Node: forking a test process that holds the
 * corpus in memory costs more than qemu-img itself, so a shell runs them all.
 */
export function qemuInfoMany(jobs: readonly { readonly path: string; readonly format?: string }[]): (Record<string, any> | null)[] {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const script = jobs
    .map((job, i) => {
      const format = job.format === undefined ? '' : `-f ${quote(job.format)} `;
      return `printf '\\n@@%d@@\\n' ${i}; ${QEMU_IMG} info --output=json ${format}${quote(job.path)} 2>/dev/null || printf null`;
    })
    .join('\n');
  const output = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const parts = output.split(/\n@@(\d+)@@\n/);
  const results: (Record<string, any> | null)[] = jobs.map(() => null);
  for (let i = 1; i < parts.length; i += 2) results[Number(parts[i])] = JSON.parse(parts[i + 1]!);
  return results;
}

let built: Corpus | undefined;

/** Builds the corpus (once per process). Call only when `corpusToolsPresent()`. */
export function buildCorpus(): Corpus {
  built ??= build();
  return built;
}

const MIB = 1024 * 1024;

function build(): Corpus {
  const dir = mkdtempSync(join(tmpdir(), 'iris-format-corpus-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string) => join(dir, name);
  const qemu = (...args: string[]) => execFileSync(QEMU_IMG, args, { stdio: 'pipe' });
  const create = (file: string, format: string, size: string, options?: string) =>
    qemu('create', '-q', '-f', format, ...(options ? ['-o', options] : []), path(file), size);
  const convert = (from: string, file: string, format: string, options?: string, extra: string[] = []) =>
    qemu('convert', '-q', '-f', 'raw', '-O', format, ...extra, ...(options ? ['-o', options] : []), path(from), path(file));
  const read = (file: string) => readFileSync(path(file));

  const good: CorpusImage[] = [];
  const bad: CorpusImage[] = [];
  const accepted = (name: string, file: string, declared: string, qemuFormat: string, format: DetectedFormat, hot: CorpusImage['hot']) => {
    const info = qemuInfo(path(file), qemuFormat);
    if (info === null) throw new Error(`qemu-img cannot read the corpus image ${name}`);
    const data = read(file);
    good.push({ name, data, declared, qemuFormat, hot, expect: { accept: true, format, virtualSize: info['virtual-size'] } });
    return data;
  };
  const refused = (name: string, data: Buffer, declared: string, check: string, qemuFormat = declared) => {
    bad.push({ name, data, declared, qemuFormat, hot: [[0, Math.min(data.length, 4096)]], expect: { accept: false, check } });
  };

  // ---- raw material: 640 KiB of deterministic noise with runs of zeros, like a real disk.
  const random = seededRandom(20240611);
  const payload = Buffer.alloc(640 * 1024);
  for (let at = 0; at < payload.length; at += 64 * 1024) {
    if (random.next() < 0.6) random.bytes(64 * 1024).copy(payload, at);
  }
  payload.fill(0, 0, 1024); // an empty boot sector, so the noise is not a partition table
  writeFileSync(path('payload.raw'), payload);
  const tail = (data: Buffer, n: number): [number, number] => [Math.max(0, data.length - n), data.length];

  // ---- good images of every format
  const raw = accepted('raw', 'payload.raw', 'raw', 'raw', 'raw', [[0, 4096], tail(payload, 512)]);

  create('empty.qcow2', 'qcow2', '2M');
  accepted('qcow2 (empty)', 'empty.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096]]);
  convert('payload.raw', 'data.qcow2', 'qcow2');
  accepted('qcow2 (data)', 'data.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096]]);
  convert('payload.raw', 'v2.qcow2', 'qcow2', 'compat=0.10');
  accepted('qcow2 (version 2)', 'v2.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096]]);
  convert('payload.raw', 'zstd.qcow2', 'qcow2', 'compression_type=zstd', ['-c']);
  accepted('qcow2 (zstd compressed)', 'zstd.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096]]);
  convert('payload.raw', 'snapshots.qcow2', 'qcow2');
  qemu('snapshot', '-c', 'installed', path('snapshots.qcow2'));
  qemu('snapshot', '-c', 'configured', path('snapshots.qcow2'));
  const withSnapshots = read('snapshots.qcow2');
  const snapshotTable = Number(withSnapshots.readBigUInt64BE(64));
  accepted('qcow2 (internal snapshots)', 'snapshots.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096], [snapshotTable, snapshotTable + 160]]);
  create('l2.qcow2', 'qcow2', '3M', 'extended_l2=on,cluster_size=64k');
  accepted('qcow2 (extended L2)', 'l2.qcow2', 'qcow2', 'qcow2', 'qcow2', [[0, 4096]]);

  convert('payload.raw', 'sparse.vmdk', 'vmdk');
  accepted('vmdk (monolithicSparse)', 'sparse.vmdk', 'vmdk', 'vmdk', 'vmdk', [[0, 2048]]);
  convert('payload.raw', 'stream.vmdk', 'vmdk', 'subformat=streamOptimized');
  const stream = accepted('vmdk (streamOptimized)', 'stream.vmdk', 'vmdk', 'vmdk', 'vmdk', [[0, 2048]]);
  writeFileSync(path('footer.vmdk'), withStreamFooter(stream));
  const footer = read('footer.vmdk');
  accepted('vmdk (streamOptimized, header in footer)', 'footer.vmdk', 'vmdk', 'vmdk', 'vmdk', [[0, 2048], tail(footer, 1536)]);

  convert('payload.raw', 'dynamic.vhd', 'vpc');
  accepted('vhd (dynamic)', 'dynamic.vhd', 'vhd', 'vpc', 'vhd', [[0, 2048]]);
  convert('payload.raw', 'fixed.vhd', 'vpc', 'subformat=fixed');
  const fixed = read('fixed.vhd');
  accepted('vhd (fixed)', 'fixed.vhd', 'vhd', 'vpc', 'vhd', [tail(fixed, 512)]);
  create('sized.vhd', 'vpc', '1000000', 'force_size=on');
  accepted('vhd (current_size)', 'sized.vhd', 'vhd', 'vpc', 'vhd', [[0, 2048]]);

  convert('payload.raw', 'disk.vhdx', 'vhdx', 'log_size=1M,block_size=1M');
  const vhdx = read('disk.vhdx');
  accepted('vhdx', 'disk.vhdx', 'vhdx', 'vhdx', 'vhdx', vhdxHotRanges(vhdx));

  convert('payload.raw', 'dynamic.vdi', 'vdi');
  accepted('vdi (dynamic)', 'dynamic.vdi', 'vdi', 'vdi', 'vdi', [[0, 1024]]);
  create('static.vdi', 'vdi', '1M', 'static=on');
  accepted('vdi (static)', 'static.vdi', 'vdi', 'vdi', 'vdi', [[0, 1024]]);

  mkdirSync(path('iso-root'));
  writeFileSync(path('iso-root/README.TXT'), 'Iris format inspection test volume\n');
  writeFileSync(path('iso-root/DATA.BIN'), payload.subarray(0, 200 * 1024));
  execFileSync(GENISOIMAGE, ['-quiet', '-V', 'IRIS', '-o', path('plain.iso'), path('iso-root')], { stdio: 'pipe' });
  const plainIso = accepted('iso', 'plain.iso', 'iso', 'raw', 'iso', [[32768, 32768 + 3 * 2048]]);

  // One GPT disk the size of the ISO (sgdisk takes a second per run): a raw disk of its own,
  // and, laid over the ISO's system area and trailing padding, a hybrid ISO.
  writeFileSync(path('gpt.raw'), Buffer.alloc(plainIso.length));
  execFileSync(SGDISK, ['-o', '-n', '1:64:0', '-t', '1:8300', path('gpt.raw')], { stdio: 'pipe' });
  const gpt = accepted('raw disk with a GPT', 'gpt.raw', 'raw', 'raw', 'gpt', [[0, 1024], tail(plainIso, 512)]);
  const hybrid = Buffer.from(plainIso);
  gpt.copy(hybrid, 0, 0, 34 * 512);
  gpt.copy(hybrid, hybrid.length - 33 * 512, gpt.length - 33 * 512);
  writeFileSync(path('hybrid.iso'), hybrid);
  accepted('iso with a GPT (hybrid)', 'hybrid.iso', 'iso', 'raw', 'iso', [[0, 1024], [32768, 32768 + 2048]]);
  writeFileSync(path('mbr.raw'), mbrDisk(2 * MIB));
  accepted('raw disk with an MBR', 'mbr.raw', 'raw', 'raw', 'gpt', [[0, 1024]]);
  convert('gpt.raw', 'gpt-fixed.vhd', 'vpc', 'subformat=fixed');
  const gptFixed = read('gpt-fixed.vhd');
  accepted('fixed vhd of a GPT disk', 'gpt-fixed.vhd', 'vhd', 'vpc', 'vhd', [[0, 1024], tail(gptFixed, 512)]);

  // ---- malicious images
  create('base.qcow2', 'qcow2', '1M');
  qemu('create', '-q', '-f', 'qcow2', '-b', path('base.qcow2'), '-F', 'qcow2', path('backing.qcow2'));
  const backing = read('backing.qcow2');
  refused('qcow2 with a backing file', backing, 'qcow2', 'backing_file');
  refused('qcow2 with a backing file, declared raw', backing, 'raw', 'backing_file', 'raw');
  create('datafile.qcow2', 'qcow2', '1M', `data_file=${path('datafile.raw')}`);
  refused('qcow2 with an external data file', read('datafile.qcow2'), 'qcow2', 'data_file');
  create('rawdata.qcow2', 'qcow2', '1M', `data_file=${path('rawdata.raw')},data_file_raw=on`);
  refused('qcow2 with a raw external data file', read('rawdata.qcow2'), 'qcow2', 'data_file');
  const empty = read('empty.qcow2');
  const unknownFeature = Buffer.from(empty);
  unknownFeature.writeBigUInt64BE(1n << 40n, 72);
  refused('qcow2 with an unknown incompatible feature', unknownFeature, 'qcow2', 'unknown_features');

  // qemu-img writes a monolithicFlat descriptor naming its own flat file; point it at /etc/passwd.
  create('flat.vmdk', 'vmdk', '1M', 'subformat=monolithicFlat');
  const flat = Buffer.from(read('flat.vmdk').toString('latin1').replace(/^RW \d+ FLAT "[^"]*" 0$/m, 'RW 8 FLAT "/etc/passwd" 0'), 'latin1');
  if (!flat.includes('/etc/passwd')) throw new Error('unexpected monolithicFlat descriptor from qemu-img');
  refused('vmdk descriptor with a FLAT extent on /etc/passwd', flat, 'vmdk', 'extents');
  refused('vmdk descriptor on /etc/passwd, declared raw', flat, 'raw', 'extents', 'raw');
  const sparse = read('sparse.vmdk');
  refused('vmdk sparse header of capacity 0 naming /etc/passwd', capacityZeroVmdk(sparse), 'vmdk', 'descriptor');
  refused('vmdk with a parent disk', withDescriptor(sparse, (text) => `${text}parentFileNameHint="base.vmdk"\n`), 'vmdk', 'backing_file');
  refused(
    'vmdk of create type monolithicFlat',
    withDescriptor(sparse, (text) => text.replace('monolithicSparse', 'monolithicFlat')),
    'vmdk',
    'create_type',
  );
  create('disk.qed', 'qed', '1M');
  refused('qed', read('disk.qed'), 'qcow2', 'format', 'qed');
  create('disk.qcow', 'qcow', '1M');
  refused('qcow version 1', read('disk.qcow'), 'qcow2', 'version', 'qcow');

  const dynamic = read('dynamic.vhd');
  refused('vhd differencing disk', vhdFooterEdit(dynamic, (f) => f.writeUInt32BE(4, 60)), 'vhd', 'backing_file', 'vpc');
  const vhdxParent = Buffer.from(vhdx);
  const params = vhdxFileParameters(vhdxParent);
  vhdxParent.writeUInt32LE(vhdxParent.readUInt32LE(params + 4) | 2, params + 4);
  refused('vhdx differencing disk', vhdxParent, 'vhdx', 'backing_file');
  const vdiParent = Buffer.from(read('dynamic.vdi'));
  vdiParent[0x1b8] = 1;
  refused('vdi with a parent', vdiParent, 'vdi', 'backing_file');

  const smuggled = Buffer.from(plainIso);
  backing.copy(smuggled, 0, 0, 1024);
  refused('qcow2 header in the system area of an iso', smuggled, 'iso', 'ambiguous', 'raw');

  // ---- lying images: data of another format than declared
  refused('qcow2 declared raw', read('data.qcow2'), 'raw', 'mismatch', 'raw');
  refused('raw declared qcow2', raw, 'qcow2', 'mismatch');
  refused('vmdk declared qcow2', sparse, 'qcow2', 'mismatch');
  refused('iso declared raw', plainIso, 'raw', 'mismatch', 'raw');
  refused('vhd declared vhdx', dynamic, 'vhdx', 'mismatch');
  refused('nothing declared qcow2', Buffer.alloc(0), 'qcow2', 'mismatch');

  // ---- truncated and absurd headers
  refused('qcow2 header cut short', empty.subarray(0, 60), 'qcow2', 'truncated');
  refused('qcow2 cut before its tables', read('data.qcow2').subarray(0, 100_000), 'qcow2', 'truncated');
  const hugeQcow2 = Buffer.from(empty);
  hugeQcow2.writeBigUInt64BE(1n << 61n, 24);
  refused('qcow2 of 2 EiB', hugeQcow2, 'qcow2', 'header');
  const wideClusters = Buffer.from(empty);
  wideClusters.writeUInt32BE(40, 20);
  refused('qcow2 with 1 TiB clusters', wideClusters, 'qcow2', 'header');
  refused('vmdk cut after its header', sparse.subarray(0, 1000), 'vmdk', 'truncated');
  refused('vhd with a wrong checksum', vhdFooterEdit(dynamic, (f) => f.writeUInt32BE(0x7fffffff, 52), false), 'vhd', 'header', 'vpc');
  const vhdxBadTable = Buffer.from(vhdx);
  vhdxBadTable[192 * 1024 + 40]! ^= 0xff;
  refused('vhdx with a damaged region table', vhdxBadTable, 'vhdx', 'header');
  const vdiHuge = Buffer.from(read('dynamic.vdi'));
  vdiHuge.writeBigUInt64LE(1n << 50n, 0x170);
  refused('vdi larger than its block map', vdiHuge, 'vdi', 'header');
  refused('iso cut in half', plainIso.subarray(0, Math.floor(plainIso.length / 2)), 'iso', 'truncated', 'raw');
  const badBoot = Buffer.from(read('mbr.raw'));
  badBoot[446] = 0x12;
  refused('MBR with an invalid boot flag', badBoot, 'raw', 'mbr', 'raw');
  const hybridMbr = Buffer.from(gpt);
  Buffer.from([0x00, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x01, 0, 0]).copy(hybridMbr, 446 + 16);
  refused('GPT behind a hybrid MBR', hybridMbr, 'raw', 'gptmbr', 'raw');

  return { dir, good, bad };
}

/** An MBR disk: one bootable Linux partition from sector 2048 to the end. */
function mbrDisk(size: number): Buffer {
  const disk = Buffer.alloc(size);
  disk[446] = 0x80;
  disk[446 + 4] = 0x83;
  disk.writeUInt32LE(2048, 446 + 8);
  disk.writeUInt32LE(size / 512 - 2048, 446 + 12);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

/** A monolithicFlat descriptor file whose one extent is `target`. */
function flatDescriptor(target: string): string {
  return [
    '# Disk DescriptorFile',
    'version=1',
    'CID=7e57ab1e',
    'parentCID=ffffffff',
    'createType="monolithicFlat"',
    '',
    '# Extent description',
    `RW 8 FLAT "${target}" 0`,
    '',
  ].join('\n');
}

/** A sparse VMDK whose embedded descriptor text is rewritten by `edit` (same region, NUL padded). */
function withDescriptor(vmdk: Buffer, edit: (text: string) => string): Buffer {
  const out = Buffer.from(vmdk);
  const start = 512;
  const size = Number(out.readBigUInt64LE(36)) * 512;
  const text = out.toString('latin1', start, start + size).split('\0')[0]!;
  const edited = Buffer.from(edit(text), 'latin1');
  if (edited.length >= size) throw new Error('edited VMDK descriptor does not fit');
  out.fill(0, start, start + size);
  edited.copy(out, start);
  return out;
}

/** The capacity-0 trick: QEMU then reads the embedded descriptor as a descriptor file. */
function capacityZeroVmdk(vmdk: Buffer): Buffer {
  const out = withDescriptor(vmdk, () => flatDescriptor('/etc/passwd'));
  out.writeBigUInt64LE(0n, 12);
  return out;
}

/**
 * A streamOptimized VMDK as VMware streams it: the header says "grain directory at the end"
 * and a footer (marker, header copy, end-of-stream marker) closes the file. The leading header
 * claims one grain more than the footer, so only a reader that honours the footer gets the
 * size qemu reports.
 */
function withStreamFooter(vmdk: Buffer): Buffer {
  const headerCopy = Buffer.from(vmdk.subarray(0, 512));
  const head = Buffer.from(vmdk);
  head.writeBigUInt64LE(0xffffffffffffffffn, 56);
  head.writeBigUInt64LE(head.readBigUInt64LE(12) + head.readBigUInt64LE(20), 12);
  const marker = Buffer.alloc(512);
  marker.writeUInt32LE(3, 12);
  return Buffer.concat([head, marker, headerCopy, Buffer.alloc(512)]);
}

/** A VHD with its leading footer edited, and its checksum fixed unless `fixChecksum` is false. */
function vhdFooterEdit(vhd: Buffer, edit: (footer: Buffer) => void, fixChecksum = true): Buffer {
  const out = Buffer.from(vhd);
  const footer = out.subarray(0, 512);
  edit(footer);
  if (fixChecksum) {
    footer.writeUInt32BE(0, 64);
    let sum = 0;
    for (const byte of footer) sum += byte;
    footer.writeUInt32BE(~sum >>> 0, 64);
  }
  return out;
}

/** The file offset of the VHDX metadata region. */
function vhdxMetadataOffset(vhdx: Buffer): number {
  const table = 192 * 1024;
  const count = vhdx.readUInt32LE(table + 8);
  for (let i = 0; i < count; i++) {
    const entry = table + 16 + 32 * i;
    if (vhdx.toString('hex', entry, entry + 4) === '06a27c8b') return Number(vhdx.readBigUInt64LE(entry + 16));
  }
  throw new Error('no VHDX metadata region');
}

/** The file offset of the VHDX file parameters item. */
function vhdxFileParameters(vhdx: Buffer): number {
  const meta = vhdxMetadataOffset(vhdx);
  const count = vhdx.readUInt16LE(meta + 10);
  for (let i = 0; i < count; i++) {
    const entry = meta + 32 + 32 * i;
    if (vhdx.toString('hex', entry, entry + 4) === '3767a1ca') return meta + vhdx.readUInt32LE(entry + 16);
  }
  throw new Error('no VHDX file parameters');
}

function vhdxHotRanges(vhdx: Buffer): [number, number][] {
  const meta = vhdxMetadataOffset(vhdx);
  return [
    [0, 8],
    [64 * 1024, 64 * 1024 + 96],
    [128 * 1024, 128 * 1024 + 96],
    [192 * 1024, 192 * 1024 + 96],
    [meta, meta + 224],
    [meta + 64 * 1024, meta + 64 * 1024 + 48],
  ];
}
