/**
 * Virtual PC / Hyper-V VHD images ("vpc" to QEMU), dynamic and fixed.
 *
 * A VHD is described by a 512-byte big-endian footer: a dynamic disk has a copy of it at the
 * start of the file, a fixed disk has it only as the last 512 bytes (its data is a raw disk),
 * which is why the driver keeps a tail of the stream. Footer fields used here:
 *   0 cookie "conectix"  16 data_offset (u64, the dynamic header)  28 creator_app (4 chars)
 *   48 current_size (u64)  56 cylinders (u16)  58 heads (u8)  59 sectors per track (u8)
 *   60 disk_type (2 fixed, 3 dynamic, 4 differencing)  64 checksum (one's complement sum).
 * Dynamic header (1024 bytes at data_offset): 0 cookie "cxsparse"  16 table_offset (u64)
 *   28 max_table_entries  32 block_size  36 checksum.
 *
 * The virtual size follows QEMU's rule (block/vpc.c): the CHS geometry, except for creators
 * known to use current_size (Hyper-V, disk2vhd, XenServer, XenConverter, qemu's "qem2") and
 * for the maximum geometry, where the geometry would truncate the disk.
 */
import { hasAscii, isPowerOfTwo, u64be } from './binary.js';
import { bytes, finding, tail, totalSize } from './format-inspector.js';
import type { Answer, CheckFailure, FormatFinding, FormatInspector, Inspection, Need } from './format-inspector.js';

const FOOTER = 512;
const DYNAMIC_HEADER = 1024;
const TYPE_FIXED = 2;
const TYPE_DYNAMIC = 3;
const TYPE_DIFFERENCING = 4;
const MAX_GEOMETRY = 65535 * 16 * 255;
/** QEMU refuses disks over 2040 GiB. */
const MAX_SECTORS = 0xff000000;
const SIZE_CREATORS = new Set(['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0']);
const INT_MAX = 2 ** 31 - 1;
const UNALLOCATED = 0xffffffff;
/** The block table is read this much at a time. */
const TABLE_SLICE = 64 * 1024;

/** Recognises VHD images (dynamic by their leading footer, fixed by their trailing one). */
export const vhdInspector: FormatInspector = {
  format: 'vhd',
  inspect,
};

interface Footer {
  readonly type: number;
  readonly dataOffset: number | null;
  /** From geometry or current_size; null when current_size is unusable. */
  readonly sectors: number | null;
}

function* inspect(): Inspection {
  const head = yield* bytes(0, FOOTER);
  if (hasAscii(head, 0, 'conectix')) return yield* inspectDynamic(head);
  // No footer at the start: maybe a fixed disk, whose footer is the last sector.
  const end = yield* tail(FOOTER);
  if (end.length < FOOTER || !hasAscii(end, 0, 'conectix') || !checksumOk(end, 64)) return null;
  const footer = parseFooter(end);
  const failures: CheckFailure[] = [];
  if (footer.type !== TYPE_FIXED) failures.push({ check: 'header', reason: 'VHD footer at the end of a disk that is not fixed' });
  const virtualSize = sizeOf(footer, failures);
  const fileSize = yield* totalSize();
  if (virtualSize !== null && virtualSize > fileSize - FOOTER) {
    failures.push({ check: 'truncated', reason: 'fixed VHD is shorter than its disk size' });
  }
  return finding('vhd', virtualSize, failures, 'fixed');
}

function* inspectDynamic(head: Buffer): Generator<Need, FormatFinding, Answer> {
  const failures: CheckFailure[] = [];
  const fail = (check: string, reason: string): void => void failures.push({ check, reason });
  if (head.length < FOOTER) return finding('vhd', null, [{ check: 'truncated', reason: 'VHD footer is truncated' }]);
  if (!checksumOk(head, 64)) fail('header', 'VHD footer checksum is wrong');
  const footer = parseFooter(head);
  if (footer.type === TYPE_DIFFERENCING) fail('backing_file', 'VHD image is a differencing disk with a parent');
  else if (footer.type === TYPE_FIXED) fail('header', 'fixed VHD footer at the start of the data');
  else if (footer.type !== TYPE_DYNAMIC) fail('header', `unknown VHD disk type ${footer.type}`);
  const virtualSize = sizeOf(footer, failures);
  if (footer.type !== TYPE_DYNAMIC && footer.type !== TYPE_DIFFERENCING) return finding('vhd', virtualSize, failures, 'dynamic');

  if (footer.dataOffset === null || footer.dataOffset < FOOTER) {
    fail('header', 'VHD dynamic header offset is invalid');
    return finding('vhd', virtualSize, failures, 'dynamic');
  }
  const dyn = yield* bytes(footer.dataOffset, DYNAMIC_HEADER);
  if (dyn.length < DYNAMIC_HEADER) {
    fail('truncated', 'VHD dynamic header is truncated');
    return finding('vhd', virtualSize, failures, 'dynamic');
  }
  if (!hasAscii(dyn, 0, 'cxsparse')) fail('header', 'VHD dynamic header has no signature');
  else if (!checksumOk(dyn, 36)) fail('header', 'VHD dynamic header checksum is wrong');
  const tableOffset = u64be(dyn, 16);
  const entries = dyn.readUInt32BE(28);
  const blockSize = dyn.readUInt32BE(32);
  if (!isPowerOfTwo(blockSize) || blockSize < 512) fail('header', 'VHD block size is invalid');
  else if (virtualSize !== null) {
    if (virtualSize / blockSize > 0xffffffff) fail('header', 'VHD disk has too many blocks');
    if (entries * blockSize < virtualSize) fail('header', 'VHD block table is too small for the disk size');
  }
  if (entries > INT_MAX / 4) fail('header', 'VHD block table is too large');
  if (tableOffset === null || failures.length > 0) return finding('vhd', virtualSize, failures, 'dynamic');

  // Like QEMU, the data must reach the end of the block table and of every allocated block
  // (each preceded by its sector bitmap). The table is read in slices to bound memory.
  const tableBytes = entries * 4;
  const bitmapBytes = roundUp(blockSize / (8 * 512), 512);
  let dataEnd = roundUp(tableOffset + tableBytes, 512);
  for (let at = 0; at < tableBytes; at += TABLE_SLICE) {
    const slice = yield* bytes(tableOffset + at, Math.min(TABLE_SLICE, tableBytes - at));
    for (let i = 0; i + 4 <= slice.length; i += 4) {
      const sector = slice.readUInt32BE(i);
      if (sector !== UNALLOCATED) dataEnd = Math.max(dataEnd, sector * 512 + bitmapBytes + blockSize);
    }
    if (slice.length < Math.min(TABLE_SLICE, tableBytes - at)) break;
  }
  const fileSize = yield* totalSize();
  if (dataEnd > fileSize) fail('truncated', 'VHD image is truncated: its blocks lie past the end of the data');
  return finding('vhd', virtualSize, failures, 'dynamic');
}

function parseFooter(buf: Buffer): Footer {
  const creator = buf.toString('latin1', 28, 32);
  const currentSize = u64be(buf, 48);
  const chs = buf.readUInt16BE(56) * buf.readUInt8(58) * buf.readUInt8(59);
  let sectors: number | null = chs;
  if (SIZE_CREATORS.has(creator) || chs === MAX_GEOMETRY) {
    sectors = currentSize === null ? null : Math.floor(currentSize / 512);
  }
  return { type: buf.readUInt32BE(60), dataOffset: u64be(buf, 16), sectors };
}

/** The disk size in bytes, or null (with a failure) when it is impossible. */
function sizeOf(footer: Footer, failures: CheckFailure[]): number | null {
  if (footer.sectors === null || footer.sectors > MAX_SECTORS) {
    failures.push({ check: 'header', reason: 'VHD disk size is too large' });
    return null;
  }
  return footer.sectors * 512;
}

/** The one's complement of the byte sum, the checksum field (4 bytes at `at`) counted as zero. */
function checksumOk(buf: Buffer, at: number): boolean {
  let sum = 0;
  for (const [i, byte] of buf.entries()) if (i < at || i >= at + 4) sum += byte;
  return (~sum >>> 0) === buf.readUInt32BE(at);
}

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
