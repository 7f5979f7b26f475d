/**
 * Hyper-V VHDX images (MS-VHDX 1.0). Everything needed is near the start, in file order, which
 * is what makes a streaming read possible:
 *   0       file identifier "vhdxfile"
 *   64 KiB  header 1, 128 KiB header 2 (4 KiB each: "head", CRC-32C, sequence number (u64),
 *           three GUIDs of which the third is the log GUID, log version, version)
 *   192 KiB region table (64 KiB: "regi", CRC-32C, entry count, then 32-byte entries of
 *           GUID, file offset (u64), length, required flag)
 *   the metadata region (at 1 MiB or later): a 64 KiB table ("metadata", entry count at 10,
 *           32-byte entries from 32: item GUID, offset in the region, length, flags) and the
 *           items it points to: file parameters (block size, flags incl. "has parent"),
 *           virtual disk size (u64), logical and physical sector size, page 83 data.
 * All little-endian; GUIDs are stored with their first three fields little-endian.
 *
 * Refused: differencing disks (a parent), unknown required regions or metadata (QEMU cannot
 * open them either), a log awaiting replay, and anything the checksums or limits reject.
 */
import { crc32c } from './crc32c.js';
import { hasAscii, isPowerOfTwo, isZero, u64le } from './binary.js';
import { bytes, finding, totalSize } from './format-inspector.js';
import type { Answer, CheckFailure, FormatInspector, Inspection, Need } from './format-inspector.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const HEADER_OFFSETS = [64 * KIB, 128 * KIB];
const HEADER_BYTES = 4 * KIB;
const REGION_TABLE = 192 * KIB;
const TABLE_BYTES = 64 * KIB;
const MAX_ENTRIES = 2047;
/** The largest virtual disk the specification allows. */
const MAX_DISK = 64 * 1024 * 1024 * MIB;

const BAT_REGION = guid('2DC27766-F623-4200-9D64-115E9BFD4A08');
const METADATA_REGION = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E');

const FILE_PARAMETERS = guid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');
const VIRTUAL_DISK_SIZE = guid('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const PAGE_83 = guid('BECA12AB-B2E6-4523-93EF-C309E000C746');
const LOGICAL_SECTOR = guid('8141BF1D-A96F-4709-BA47-F233A8FAAB5F');
const PHYSICAL_SECTOR = guid('CDA348C7-445D-4471-9CC9-E9885251C556');
const PARENT_LOCATOR = guid('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');

/** Required items and the exact length each must have. */
const REQUIRED_ITEMS = new Map<string, { name: string; length: number }>([
  [FILE_PARAMETERS, { name: 'file parameters', length: 8 }],
  [VIRTUAL_DISK_SIZE, { name: 'virtual disk size', length: 8 }],
  [PAGE_83, { name: 'page 83 data', length: 16 }],
  [LOGICAL_SECTOR, { name: 'logical sector size', length: 4 }],
  [PHYSICAL_SECTOR, { name: 'physical sector size', length: 4 }],
]);

const META_IS_REQUIRED = 1 << 2;
const BLOCK_FULLY_PRESENT = 6;
/** Fully present blocks remembered from a block table read before the metadata (16 bytes each). */
const MAX_PRESENT = 1024 * 1024;
const PARAMS_HAS_PARENT = 1 << 1;

/** Recognises VHDX images and refuses differencing disks and anything QEMU would not open. */
export const vhdxInspector: FormatInspector = {
  format: 'vhdx',
  inspect,
};

interface Region {
  readonly offset: number;
  readonly length: number;
}

function* inspect(): Inspection {
  const ident = yield* bytes(0, 8);
  if (!hasAscii(ident, 0, 'vhdxfile')) return null;
  const failures: CheckFailure[] = [];
  const fail = (check: string, reason: string): void => void failures.push({ check, reason });
  const done = () => finding('vhdx', null, failures);

  // The current header is the valid one with the higher sequence number.
  let current: Buffer | undefined;
  let sequence = -1n;
  for (const offset of HEADER_OFFSETS) {
    const header = yield* bytes(offset, HEADER_BYTES);
    if (header.length < HEADER_BYTES) {
      fail('truncated', 'VHDX headers are truncated');
      return done();
    }
    if (!hasAscii(header, 0, 'head') || crc32c(header, 4) !== header.readUInt32LE(4)) continue;
    const seq = header.readBigUInt64LE(8);
    if (seq > sequence) [current, sequence] = [header, seq];
  }
  if (current === undefined) {
    fail('header', 'VHDX image has no valid header');
    return done();
  }
  if (current.readUInt16LE(66) !== 1) fail('header', 'unsupported VHDX version');
  // A log GUID means writes are pending in the log; replaying them rewrites the file.
  if (!isZero(current, 48, 64)) fail('log', 'VHDX image has a log that must be replayed');

  const table = yield* bytes(REGION_TABLE, TABLE_BYTES);
  if (table.length < TABLE_BYTES) {
    fail('truncated', 'VHDX region table is truncated');
    return done();
  }
  if (!hasAscii(table, 0, 'regi') || crc32c(table, 4) !== table.readUInt32LE(4)) {
    fail('header', 'VHDX region table is invalid');
    return done();
  }
  const regionCount = table.readUInt32LE(8);
  if (regionCount > MAX_ENTRIES) {
    fail('header', 'VHDX region table has too many entries');
    return done();
  }
  // Every region, and the log, must have its own place: QEMU refuses overlaps.
  const occupied: Region[] = [];
  const logLength = current.readUInt32LE(68);
  const logOffset = u64le(current, 72);
  if (logLength > 0) {
    if (logOffset === null || logOffset < MIB) fail('header', 'VHDX log lies in an impossible place');
    else occupied.push({ offset: logOffset, length: logLength });
  }
  const regions = new Map<string, Region>();
  for (let i = 0; i < regionCount; i++) {
    const entry = table.subarray(16 + 32 * i, 48 + 32 * i);
    const id = entry.toString('hex', 0, 16);
    const offset = u64le(entry, 16);
    const length = entry.readUInt32LE(24);
    // Regions live after the 1 MiB header section; that is also what lets the stream reach them.
    if (offset === null || offset < MIB || offset % MIB !== 0) {
      fail('header', 'VHDX region lies in an impossible place');
      return done();
    }
    if (occupied.some((other) => overlaps(other, { offset, length }))) fail('header', 'VHDX regions overlap');
    occupied.push({ offset, length });
    if (id !== BAT_REGION && id !== METADATA_REGION) {
      if (entry.readUInt32LE(28) & 1) fail('header', 'VHDX image has an unknown required region');
      continue;
    }
    if (regions.has(id)) fail('header', 'VHDX region table repeats a region');
    regions.set(id, { offset, length });
  }
  const bat = regions.get(BAT_REGION);
  const meta = regions.get(METADATA_REGION);
  if (bat === undefined || meta === undefined) {
    fail('header', 'VHDX image lacks its block table or metadata region');
    return done();
  }
  if (meta.length < TABLE_BYTES) {
    fail('header', 'VHDX metadata region is too small');
    return done();
  }

  // The stream passes the block table and the metadata in file order; a table that comes
  // first is summarised before the metadata says how to read it.
  let present: PresentBlocks | null = bat.offset < meta.offset ? yield* readBlockTable(bat, bat.length) : null;
  const items = yield* readMetadata(meta, fail);
  if (items === null) return done();
  if (present?.overflow) fail('header', 'VHDX block table has too many blocks to inspect');
  let virtualSize: number | null = null;
  const params = items.get(FILE_PARAMETERS);
  const logical = items.get(LOGICAL_SECTOR)?.readUInt32LE(0);
  const physical = items.get(PHYSICAL_SECTOR)?.readUInt32LE(0);
  const diskSize = items.has(VIRTUAL_DISK_SIZE) ? u64le(items.get(VIRTUAL_DISK_SIZE)!, 0) : null;
  let blockSize: number | null = null;
  if (params !== undefined) {
    blockSize = params.readUInt32LE(0);
    if (!isPowerOfTwo(blockSize) || blockSize < MIB || blockSize > 256 * MIB) {
      fail('header', 'VHDX block size is invalid');
      blockSize = null;
    }
    if (params.readUInt32LE(4) & PARAMS_HAS_PARENT) fail('backing_file', 'VHDX image is a differencing disk with a parent');
  }
  if (logical !== 512 && logical !== 4096) fail('header', 'VHDX logical sector size is invalid');
  if (physical !== 512 && physical !== 4096) fail('header', 'VHDX physical sector size is invalid');
  if (diskSize === null || diskSize === 0 || diskSize > MAX_DISK) fail('header', 'VHDX virtual disk size is invalid');
  else if (logical === 512 || logical === 4096) {
    // The specification requires whole logical sectors (QEMU would silently drop the rest).
    if (diskSize % logical !== 0) fail('header', 'VHDX virtual disk size is not a whole number of sectors');
    else virtualSize = diskSize;
  }

  let blocksEnd = 0;
  if (virtualSize !== null && blockSize !== null && logical !== undefined) {
    // One sector bitmap entry follows every `chunkRatio` payload entries (MS-VHDX 2.5).
    const chunkRatio = (2 ** 23 * logical) / blockSize;
    const dataBlocks = Math.ceil(diskSize! / blockSize);
    const entries = dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
    if (entries * 8 > bat.length) fail('header', 'VHDX block table is too small for the disk');
    else {
      present ??= yield* readBlockTable(bat, entries * 8);
      for (const [i, index] of present.index.entries()) {
        if (index >= entries || index % (chunkRatio + 1) === chunkRatio) continue;
        // readBlockTable pushes an offset with every index.
        const block = { offset: present.offset[i]!, length: blockSize };
        if (block.offset < MIB || occupied.some((region) => overlaps(region, block))) {
          fail('header', 'VHDX data block overlaps its metadata');
          break;
        }
        blocksEnd = Math.max(blocksEnd, block.offset + blockSize);
      }
    }
  }

  const fileSize = yield* totalSize();
  if (Math.max(blocksEnd, ...occupied.map((r) => r.offset + r.length)) > fileSize) {
    fail('truncated', 'VHDX image is truncated: its regions or blocks lie past the end of the data');
  }
  return finding('vhdx', virtualSize, failures);
}

/** Fully present blocks of a block table: entry index and file offset. */
interface PresentBlocks {
  readonly index: number[];
  readonly offset: number[];
  /** More present blocks than are kept (`MAX_PRESENT`). */
  overflow: boolean;
}

/** Reads `length` bytes of the block table in slices, keeping only the fully present entries. */
function* readBlockTable(bat: Region, length: number): Generator<Need, PresentBlocks, Answer> {
  const present: PresentBlocks = { index: [], offset: [], overflow: false };
  for (let at = 0; at < length; at += TABLE_BYTES) {
    const slice = yield* bytes(bat.offset + at, Math.min(TABLE_BYTES, length - at));
    for (let i = 0; i + 8 <= slice.length; i += 8) {
      const low = slice.readUInt32LE(i);
      if ((low & 7) !== BLOCK_FULLY_PRESENT) continue;
      if (present.index.length >= MAX_PRESENT) {
        present.overflow = true;
        return present;
      }
      // Bits 20-63 are the file offset (a multiple of 1 MiB), the low 3 bits the state.
      present.index.push((at + i) / 8);
      present.offset.push(slice.readUInt32LE(i + 4) * 2 ** 32 + ((low & 0xfff00000) >>> 0));
    }
    if (slice.length < Math.min(TABLE_BYTES, length - at)) break;
  }
  return present;
}

function overlaps(a: Region, b: Region): boolean {
  return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}

/** Reads the metadata table and the known items; null when the table is unusable. */
function* readMetadata(
  meta: Region,
  fail: (check: string, reason: string) => void,
): Generator<Need, Map<string, Buffer> | null, Answer> {
  const table = yield* bytes(meta.offset, TABLE_BYTES);
  if (table.length < TABLE_BYTES) {
    fail('truncated', 'VHDX metadata table is truncated');
    return null;
  }
  if (!hasAscii(table, 0, 'metadata')) {
    fail('header', 'VHDX metadata table has no signature');
    return null;
  }
  const count = table.readUInt16LE(10);
  if (count > MAX_ENTRIES) {
    fail('header', 'VHDX metadata table has too many entries');
    return null;
  }
  const wanted: { id: string; offset: number; length: number }[] = [];
  for (let i = 0; i < count; i++) {
    const entry = table.subarray(32 + 32 * i, 64 + 32 * i);
    const id = entry.toString('hex', 0, 16);
    const offset = entry.readUInt32LE(16);
    const length = entry.readUInt32LE(20);
    const flags = entry.readUInt32LE(24);
    if (id === PARENT_LOCATOR) {
      fail('backing_file', 'VHDX image has a parent locator');
      continue;
    }
    const known = REQUIRED_ITEMS.get(id);
    if (known === undefined) {
      if (flags & META_IS_REQUIRED) fail('header', 'VHDX image has unknown required metadata');
      continue;
    }
    if (wanted.some((w) => w.id === id)) fail('header', `VHDX metadata repeats the ${known.name}`);
    else if (length !== known.length || offset < TABLE_BYTES || offset + length > meta.length) {
      fail('header', `VHDX ${known.name} item is malformed`);
    } else wanted.push({ id, offset, length });
  }
  if (wanted.length < REQUIRED_ITEMS.size) {
    fail('header', 'VHDX image lacks required metadata');
    return null;
  }
  // Items are read in file order, the only order a stream allows; overlapping items are invalid.
  wanted.sort((a, b) => a.offset - b.offset);
  const items = new Map<string, Buffer>();
  let end = 0;
  for (const item of wanted) {
    if (item.offset < end) {
      fail('header', 'VHDX metadata items overlap');
      return null;
    }
    const data = yield* bytes(meta.offset + item.offset, item.length);
    if (data.length < item.length) {
      fail('truncated', 'VHDX metadata is truncated');
      return null;
    }
    items.set(item.id, data);
    end = item.offset + item.length;
  }
  return items;
}

/** The on-disk bytes of a GUID (first three fields little-endian), as hex. */
function guid(text: string): string {
  const hex = text.replace(/-/g, '').toLowerCase();
  const swap = (s: string) => s.match(/../g)!.reverse().join('');
  return swap(hex.slice(0, 8)) + swap(hex.slice(8, 12)) + swap(hex.slice(12, 16)) + hex.slice(16);
}
