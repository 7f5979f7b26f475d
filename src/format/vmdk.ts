/**
 * VMware VMDK. Three shapes reach an image service:
 * - a hosted sparse extent ("KDMV"), the single-file monolithicSparse and streamOptimized
 *   disks, the only ones accepted;
 * - a descriptor file: plain text naming extent files (monolithicFlat, twoGbMaxExtent…), which
 *   makes qemu open whatever path the text names (`/etc/passwd`): always refused;
 * - the VMware 3 "COWD" sparse format: refused.
 *
 * Sparse extent header, little-endian: 0 magic "KDMV"  4 version  8 flags  12 capacity
 *   (sectors, u64)  20 grain size (u64)  28 descriptor offset (sectors, u64)  36 descriptor
 *   size (u64)  44 grain table entries per table  48 redundant grain directory (u64)
 *   56 grain directory offset (u64; all ones = "in the footer")  64 overhead (u64)
 *   77 compression algorithm (u16).
 * A streamOptimized disk written as a stream puts the real header in a footer: the last 1536
 * bytes are a footer marker, a copy of the header and an end-of-stream marker.
 *
 * What QEMU does that matters here (block/vmdk.c): a header with capacity 0 makes it read the
 * embedded descriptor as a descriptor *file* (extents and all); `parentFileNameHint` anywhere
 * in the 10 KiB from sector 1 gives the disk a backing file; the virtual size is the header's
 * (or footer's) capacity.
 */
import { allOnes64, u64le } from './binary.js';
import { bytes, finding, tail, totalSize } from './format-inspector.js';
import type { Answer, CheckFailure, FormatFinding, FormatInspector, Inspection, Need } from './format-inspector.js';
import { parseDescriptor } from './vmdk-descriptor.js';
import type { VmdkDescriptor } from './vmdk-descriptor.js';

const SECTOR = 512;
/** QEMU reads at most this much descriptor text. */
const MAX_DESCRIPTOR = 1024 * 1024 - 1;
const ALLOWED_TYPES = new Set(['monolithicsparse', 'streamoptimized']);
const MARKER_EOS = 0;
const MARKER_FOOTER = 3;
const FLAG_RGD = 1 << 1;
/** QEMU reads the CIDs and the parent hint from this much descriptor text. */
const CID_WINDOW = 20 * 512 - 1;
const FOOTER_BYTES = 1536;
// QEMU's limits.
const MAX_GTES_PER_GT = 512;
const MAX_GRAIN_SECTORS = 0x200000;
const MAX_L1_ENTRIES = 32 * 1024 * 1024;

/** Recognises VMDK sparse disks and descriptor files. */
export const vmdkInspector: FormatInspector = {
  format: 'vmdk',
  inspect,
};

function* inspect(): Inspection {
  const magic = yield* bytes(0, 4);
  const text = magic.toString('latin1');
  if (text === 'KDMV') return yield* inspectSparse();
  if (text === 'COWD') {
    const header = yield* bytes(0, 16);
    const sectors = header.length >= 16 ? header.readUInt32LE(12) : null;
    return finding('vmdk', sectors === null ? null : sectors * SECTOR, [
      { check: 'create_type', reason: 'VMware 3 (COWD) VMDK images are not supported' },
    ], 'vmdk3');
  }
  return yield* inspectDescriptorFile();
}

interface SparseHeader {
  readonly version: number;
  readonly capacity: number | null;
  readonly grain: number | null;
  readonly descriptorOffset: number | null;
  readonly descriptorSize: number | null;
  readonly gtesPerGt: number;
  readonly gdAtEnd: boolean;
  /** Grain directory and its redundant copy (when the flag says there is one), in sectors. */
  readonly gdOffset: number | null;
  readonly rgdOffset: number | null;
  readonly overhead: number | null;
}

function parseHeader(buf: Buffer, at: number): SparseHeader {
  return {
    version: buf.readUInt32LE(at + 4),
    capacity: u64le(buf, at + 12),
    grain: u64le(buf, at + 20),
    descriptorOffset: u64le(buf, at + 28),
    descriptorSize: u64le(buf, at + 36),
    gtesPerGt: buf.readUInt32LE(at + 44),
    gdAtEnd: allOnes64(buf, at + 56),
    gdOffset: u64le(buf, at + 56),
    rgdOffset: buf.readUInt32LE(at + 8) & FLAG_RGD ? u64le(buf, at + 48) : 0,
    overhead: u64le(buf, at + 64),
  };
}

function* inspectSparse(): Generator<Need, FormatFinding, Answer> {
  const failures: CheckFailure[] = [];
  const fail = (check: string, reason: string): void => void failures.push({ check, reason });
  const head = yield* bytes(0, SECTOR);
  if (head.length < 79) return finding('vmdk', null, [{ check: 'truncated', reason: 'VMDK header is truncated' }]);
  let header = parseHeader(head, 0);

  if (header.capacity === 0) {
    fail('descriptor', 'VMDK header has capacity 0, which makes its descriptor name other files');
  }
  if (header.descriptorOffset !== 1 || header.descriptorSize === null || header.descriptorSize < 1) {
    // QEMU reads the descriptor (and the parent hint) at sector 1 whatever the header says.
    fail('header', 'VMDK embedded descriptor is not at sector 1');
  }
  const descriptorText = (yield* bytes(SECTOR, MAX_DESCRIPTOR, 0)).toString('latin1');
  const descriptor = parseDescriptor(descriptorText);
  checkEmbeddedDescriptor(descriptor, fail);
  // QEMU refuses to open a sparse disk whose first 10 KiB of descriptor lack these two.
  const window = descriptorText.slice(0, CID_WINDOW);
  if (!hasHexValue(window, 'CID') || !hasHexValue(window, 'parentCID')) {
    fail('descriptor', 'VMDK descriptor lacks a readable CID or parentCID');
  }

  if (header.gdAtEnd) {
    // The footer takes precedence over the header, as in QEMU.
    const footer = yield* tail(FOOTER_BYTES);
    const valid =
      footer.length === FOOTER_BYTES &&
      footer.readUInt32LE(8) === 0 &&
      footer.readUInt32LE(12) === MARKER_FOOTER &&
      footer.toString('latin1', 512, 516) === 'KDMV' &&
      footer.readBigUInt64LE(1024) === 0n &&
      footer.readUInt32LE(1032) === 0 &&
      footer.readUInt32LE(1036) === MARKER_EOS;
    if (!valid) {
      fail('header', 'VMDK stream footer is invalid');
      return finding('vmdk', null, failures);
    }
    const inFooter = parseHeader(footer, 512);
    if (inFooter.gdAtEnd) fail('header', 'VMDK footer points to another footer');
    if (inFooter.descriptorOffset !== header.descriptorOffset || inFooter.descriptorSize !== header.descriptorSize) {
      fail('header', 'VMDK footer and header disagree about the descriptor');
    }
    header = inFooter;
  }

  let virtualSize: number | null = null;
  let directoryBytes = 0;
  if (header.version < 1 || header.version > 3) fail('header', `unsupported VMDK version ${header.version}`);
  if (header.gtesPerGt > MAX_GTES_PER_GT) fail('header', 'VMDK grain tables are too large');
  if (header.grain === null || header.grain > MAX_GRAIN_SECTORS) fail('header', 'VMDK grain size is invalid');
  else if (header.capacity === null || header.capacity * SECTOR > Number.MAX_SAFE_INTEGER) {
    fail('header', 'VMDK capacity is impossibly large');
  } else {
    const l1EntrySectors = header.gtesPerGt * header.grain;
    if (l1EntrySectors === 0) fail('header', 'VMDK grain directory entries cover nothing');
    else if (Math.ceil(header.capacity / l1EntrySectors) > MAX_L1_ENTRIES) fail('header', 'VMDK grain directory is too large');
    else directoryBytes = Math.ceil(header.capacity / l1EntrySectors) * 4;
    virtualSize = header.capacity * SECTOR;
  }
  if (virtualSize === 0) fail('header', 'VMDK disk is empty');

  const fileSize = yield* totalSize();
  // QEMU reads both grain directories when it opens the disk; they must be in the data.
  const directoryEnds = [header.gdOffset, header.rgdOffset].map((o) => (o === null ? Infinity : o * SECTOR + directoryBytes));
  if (header.overhead === null || header.overhead * SECTOR > fileSize || Math.max(...directoryEnds) > fileSize) {
    fail('truncated', 'VMDK image is truncated');
  }
  return finding('vmdk', virtualSize, failures, descriptor.createType ?? undefined);
}

/** The descriptor inside a sparse file: one of the two single-file types, no parent, no files. */
function checkEmbeddedDescriptor(desc: VmdkDescriptor, fail: (check: string, reason: string) => void): void {
  if (desc.createType === null) fail('descriptor', 'VMDK descriptor has no single createType');
  else if (!ALLOWED_TYPES.has(desc.createType.toLowerCase())) {
    fail('create_type', 'VMDK create type is not monolithicSparse or streamOptimized');
  }
  if (desc.hasParent) fail('backing_file', 'VMDK image has a parent disk');
  if (desc.unknownLines > 0) fail('descriptor', 'VMDK descriptor has lines that are not understood');
  if (desc.extents.length === 0) fail('descriptor', 'VMDK descriptor defines no extents');
  // A single-file disk's extent names the file itself: a bare name, no directory.
  if (desc.extents.some((e) => e.type !== 'SPARSE' || e.file === null || /[/\\]/.test(e.file))) {
    fail('extents', 'VMDK descriptor names extents in other files');
  }
}

/**
 * Data without a sparse header that qemu would still read as a VMDK: text with a createType
 * (what `-f vmdk` needs) or starting with a `version=` line (what qemu's probe recognises).
 */
function* inspectDescriptorFile(): Generator<Need, FormatFinding | null, Answer> {
  const raw = yield* bytes(0, MAX_DESCRIPTOR, 0);
  const text = raw.toString('latin1');
  if (!/createtype/i.test(text) && !probesAsDescriptor(text)) return null;
  const desc = parseDescriptor(text);
  const failures: CheckFailure[] = [];
  if (desc.createType === null || !ALLOWED_TYPES.has(desc.createType.toLowerCase())) {
    failures.push({ check: 'create_type', reason: 'VMDK descriptor file of a type other than monolithicSparse or streamOptimized' });
  }
  // A descriptor file has no data of its own: every extent is another file.
  failures.push({ check: 'extents', reason: 'VMDK descriptor file names extents in other files' });
  if (desc.hasParent) failures.push({ check: 'backing_file', reason: 'VMDK image has a parent disk' });
  const sectors = desc.extents.reduce((sum, e) => sum + e.sectors, 0);
  return finding('vmdk', Number.isSafeInteger(sectors * SECTOR) ? sectors * SECTOR : null, failures, 'descriptor');
}

/** As QEMU reads a CID: the first mention of `key`, one character, then a hexadecimal number. */
function hasHexValue(text: string, key: string): boolean {
  const at = text.indexOf(key);
  return at >= 0 && /^\s*[+-]?(0[xX])?[0-9a-fA-F]/.test(text.slice(at + key.length + 1));
}

/** QEMU's probe: blank and comment lines, then `version=1`, `2` or `3`. */
function probesAsDescriptor(text: string): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#') || /^ *$/.test(line)) continue;
    return /^version=[123]$/.test(line);
  }
  return false;
}
