/**
 * QEMU copy-on-write images, version 2 and 3 (and the obsolete version 1, recognised only to be
 * refused). Layout from QEMU's docs/interop/qcow2.txt; the limits mirror what QEMU itself
 * accepts when it opens an image, so that anything accepted here opens there with the same
 * virtual size.
 *
 * Big-endian header:   0 magic "QFI\xfb"   4 version   8 backing_file_offset (u64)
 *   16 backing_file_size  20 cluster_bits  24 size (u64)  32 crypt_method  36 l1_size
 *   40 l1_table_offset (u64)  48 refcount_table_offset (u64)  56 refcount_table_clusters
 *   60 nb_snapshots  64 snapshots_offset (u64); version 3 adds 72 incompatible_features,
 *   80 compatible_features, 88 autoclear_features (u64 each), 96 refcount_order,
 *   100 header_length, 104 compression_type (when header_length > 104).
 * Header extensions (type u32, length u32, data padded to 8) follow the header up to the
 * backing file name or the end of the first cluster.
 */
import { isZero, u64be } from './binary.js';
import { bytes, finding, totalSize } from './format-inspector.js';
import type { Answer, CheckFailure, FormatInspector, Inspection, Need } from './format-inspector.js';

const MAGIC = Buffer.from('QFI\xfb', 'latin1');
const V2_HEADER = 72;
const V3_HEADER = 104;

const INCOMPAT_CORRUPT = 1n << 1n;
const INCOMPAT_DATA_FILE = 1n << 2n;
const INCOMPAT_COMPRESSION = 1n << 3n;
const INCOMPAT_EXTENDED_L2 = 1n << 4n;
/** Bits 0-4 (dirty, corrupt, external data file, compression type, extended L2) are defined. */
const INCOMPAT_KNOWN = 0x1fn;
const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;

const EXT_END = 0x00000000;
const EXT_DATA_FILE = 0x44415441;
const EXT_CRYPTO_HEADER = 0x0537be77;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_BITMAPS = 0x23852875;
const AUTOCLEAR_BITMAPS = 1n << 0n;
const MAX_BITMAPS = 65535;
const MAX_BITMAP_DIRECTORY = 1024 * MAX_BITMAPS;
const CRYPT_LUKS = 2;

// QEMU's own limits (block/qcow2.h).
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
const SNAPSHOT_HEADER_BYTES = 40;
const MAX_SNAPSHOTS = 65536;
const INT_MAX = 2 ** 31 - 1;
const MAX_SNAPSHOT_EXTRA = 1024;
const MAX_SNAPSHOT_TABLE = 1024 * MAX_SNAPSHOTS;

/** Recognises qcow2 (and qcow v1) and refuses backing files, external data and unknown features. */
export const qcow2Inspector: FormatInspector = {
  format: 'qcow2',
  inspect,
};

function* inspect(): Inspection {
  const head = yield* bytes(0, V3_HEADER);
  if (head.length < MAGIC.length || !head.subarray(0, 4).equals(MAGIC)) return null;
  if (head.length < V2_HEADER) return finding('qcow2', null, [truncatedHeader()]);

  const version = head.readUInt32BE(4);
  const rawSize = u64be(head, 24);
  if (version === 1) {
    // QEMU still opens qcow v1, backing files included; nothing Iris serves should use it.
    return finding('qcow', rawSize === null ? null : sectorFloor(rawSize), [
      { check: 'version', reason: 'qcow version 1 images are not supported' },
    ]);
  }

  const failures: CheckFailure[] = [];
  const fail = (check: string, reason: string): void => void failures.push({ check, reason });

  if (version !== 2 && version !== 3) {
    return finding('qcow2', null, [{ check: 'header', reason: `unsupported qcow2 version ${version}` }]);
  }
  if (version === 3 && head.length < V3_HEADER) return finding('qcow2', null, [truncatedHeader()]);

  // The backing file is the reason this inspector exists (CVE-2024-32498 and friends): an image
  // naming one makes qemu read any file the host can reach.
  if (!isZero(head, 8, 16)) fail('backing_file', 'qcow2 image has a backing file');

  const clusterBits = head.readUInt32BE(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    fail('header', `qcow2 cluster size 2^${clusterBits} is out of range`);
    return finding('qcow2', null, failures);
  }
  const clusterSize = 2 ** clusterBits;

  let incompatible = 0n;
  let autoclear = 0n;
  let refcountOrder = 4;
  let headerLength = V2_HEADER;
  if (version === 3) {
    incompatible = head.readBigUInt64BE(72);
    autoclear = head.readBigUInt64BE(88);
    refcountOrder = head.readUInt32BE(96);
    headerLength = head.readUInt32BE(100);
    if (headerLength < V3_HEADER) fail('header', 'qcow2 header is shorter than version 3 requires');
    if (headerLength > clusterSize) fail('header', 'qcow2 header is larger than a cluster');
  }
  if ((incompatible & INCOMPAT_DATA_FILE) !== 0n) fail('data_file', 'qcow2 image uses an external data file');
  if ((incompatible & ~INCOMPAT_KNOWN) !== 0n) fail('unknown_features', 'qcow2 image has unknown incompatible features');
  if ((incompatible & INCOMPAT_CORRUPT) !== 0n) fail('corrupt', 'qcow2 image is marked corrupt');
  if ((autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0n && (incompatible & INCOMPAT_DATA_FILE) === 0n) {
    fail('header', 'qcow2 image says its data file is raw but has no data file');
  }
  if (refcountOrder > 6) fail('header', 'qcow2 refcount width is larger than 64 bits');
  const cryptMethod = head.readUInt32BE(32);
  if (cryptMethod > CRYPT_LUKS) fail('header', `unknown qcow2 encryption method ${cryptMethod}`);

  // Compression type lives at byte 104 when the header is long enough; zlib (0) is the
  // default and any other type must be announced by its incompatible bit (as QEMU demands).
  let compressionType = 0;
  if (version === 3 && headerLength > V3_HEADER) {
    const more = yield* bytes(V3_HEADER, 1);
    if (more.length < 1) return finding('qcow2', null, [...failures, truncatedHeader()]);
    compressionType = more.readUInt8(0);
  }
  if (compressionType > 1) fail('header', `unknown qcow2 compression type ${compressionType}`);
  else if ((compressionType !== 0) !== ((incompatible & INCOMPAT_COMPRESSION) !== 0n)) {
    fail('header', 'qcow2 compression type and its feature bit disagree');
  }

  const size = rawSize;
  const l1Size = head.readUInt32BE(36);
  const l1Offset = u64be(head, 40);
  const refcountOffset = u64be(head, 48);
  const refcountClusters = head.readUInt32BE(56);
  const snapshots = head.readUInt32BE(60);
  const snapshotsOffset = u64be(head, 64);

  let virtualSize: number | null = null;
  if (size === null) {
    fail('header', 'qcow2 virtual size is impossibly large');
  } else {
    const l2Bits = clusterBits - ((incompatible & INCOMPAT_EXTENDED_L2) !== 0n ? 4 : 3);
    // Entries the active L1 table needs to map `size` bytes; QEMU refuses a smaller table.
    const l1Needed = Math.ceil(size / 2 ** (clusterBits + l2Bits));
    if (l1Needed > INT_MAX) fail('header', 'qcow2 virtual size is too large');
    else if (l1Size < l1Needed) fail('header', 'qcow2 L1 table is too small for the virtual size');
    virtualSize = sectorFloor(size);
  }

  const tables: { name: string; offset: number | null; bytes: number; max: number }[] = [
    { name: 'L1 table', offset: l1Offset, bytes: l1Size * 8, max: MAX_L1_BYTES },
    { name: 'refcount table', offset: refcountOffset, bytes: refcountClusters * clusterSize, max: MAX_REFTABLE_BYTES },
    {
      name: 'snapshot table',
      offset: snapshotsOffset,
      bytes: snapshots * SNAPSHOT_HEADER_BYTES,
      max: MAX_SNAPSHOTS * SNAPSHOT_HEADER_BYTES,
    },
  ];
  if (refcountClusters === 0) fail('header', 'qcow2 image has no refcount table');
  for (const table of tables) {
    if (table.bytes > table.max) fail('header', `qcow2 ${table.name} is too large`);
    else if (table.offset === null || table.offset % clusterSize !== 0) {
      fail('header', `qcow2 ${table.name} offset is invalid`);
    }
  }

  // Header extensions run from the end of the header to the backing file name, or to the end
  // of the first cluster. Only the ones that change what qemu opens matter here.
  const backingOffset = u64be(head, 8);
  const extEnd = backingOffset !== null && backingOffset > 0 && backingOffset < clusterSize ? backingOffset : clusterSize;
  let at = headerLength;
  while (at < extEnd) {
    if (extEnd - at < 8) {
      fail('header', 'qcow2 header extension crosses the end of its area');
      break;
    }
    const ext = yield* bytes(at, 8);
    if (ext.length < 8) {
      fail('truncated', 'qcow2 header extensions are truncated');
      break;
    }
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    // Checked before the type, even for the end marker, as QEMU does.
    if (length > extEnd - at - 8) {
      fail('header', 'qcow2 header extension is too large');
      break;
    }
    if (type === EXT_END) break;
    if (type === EXT_DATA_FILE) fail('data_file', 'qcow2 image names an external data file');
    if (type === EXT_CRYPTO_HEADER && (cryptMethod !== CRYPT_LUKS || length !== 16)) {
      fail('header', 'qcow2 encryption header extension is invalid');
    }
    if (type === EXT_BACKING_FORMAT && length >= 16) fail('header', 'qcow2 backing format name is too long');
    if (type === EXT_BITMAPS) {
      const data = yield* bytes(at + 8, Math.min(length, 24));
      if (length !== 24 || data.length < 24) fail('header', 'qcow2 bitmaps extension is invalid');
      else if ((autoclear & AUTOCLEAR_BITMAPS) !== 0n) {
        const count = data.readUInt32BE(0);
        const directoryBytes = u64be(data, 8);
        const directoryOffset = u64be(data, 16);
        if (
          data.readUInt32BE(4) !== 0 ||
          count === 0 ||
          count > MAX_BITMAPS ||
          directoryBytes === null ||
          directoryBytes > MAX_BITMAP_DIRECTORY ||
          directoryOffset === null ||
          directoryOffset % clusterSize !== 0
        ) {
          fail('header', 'qcow2 bitmaps extension is invalid');
        }
      }
    }
    at += 8 + Math.ceil(length / 8) * 8;
  }

  const ends = [headerLength];
  for (const table of tables) {
    if (table.offset !== null && table.bytes > 0 && table.bytes <= table.max) ends.push(table.offset + table.bytes);
  }
  // Internal snapshots: QEMU reads the whole snapshot table when it opens the image.
  if (snapshots > 0 && snapshotsOffset !== null && snapshotsOffset % clusterSize === 0 && snapshots <= MAX_SNAPSHOTS) {
    const end = yield* readSnapshotTable(snapshotsOffset, snapshots, clusterSize, fail);
    if (end !== null) ends.push(...end);
  }

  // A file cut short: the header or the tables it points to lie past the end of the data.
  const fileSize = yield* totalSize();
  if (Math.max(...ends) > fileSize) fail('truncated', 'qcow2 image is truncated: its tables lie past the end of the data');

  return finding('qcow2', virtualSize, failures, `v${version}`);
}

/**
 * Walks the snapshot table (variable-length entries: a 40-byte header, extra data, an id and a
 * name, each entry 8-byte aligned) with QEMU's limits. Returns the ends of the table and of
 * the snapshots' L1 tables, or null when it gave up.
 */
function* readSnapshotTable(
  offset: number,
  count: number,
  clusterSize: number,
  fail: (check: string, reason: string) => void,
): Generator<Need, number[] | null, Answer> {
  const ends: number[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    at = Math.ceil(at / 8) * 8;
    const entry = yield* bytes(at, SNAPSHOT_HEADER_BYTES);
    if (entry.length < SNAPSHOT_HEADER_BYTES) {
      fail('truncated', 'qcow2 snapshot table is truncated');
      return null;
    }
    const l1Offset = u64be(entry, 0);
    const l1Bytes = entry.readUInt32BE(8) * 8;
    const extra = entry.readUInt32BE(36);
    if (extra > MAX_SNAPSHOT_EXTRA) {
      fail('header', 'qcow2 snapshot has too much extra data');
      return null;
    }
    if (l1Bytes > MAX_L1_BYTES || l1Offset === null || l1Offset % clusterSize !== 0) {
      fail('header', 'qcow2 snapshot L1 table is invalid');
      return null;
    }
    if (l1Bytes > 0) ends.push(l1Offset + l1Bytes);
    at += SNAPSHOT_HEADER_BYTES + extra + entry.readUInt16BE(12) + entry.readUInt16BE(14);
    if (at - offset > MAX_SNAPSHOT_TABLE) {
      fail('header', 'qcow2 snapshot table is too large');
      return null;
    }
  }
  ends.push(at);
  return ends;
}

/** QEMU keeps whole 512-byte sectors of the header's size. */
function sectorFloor(size: number): number {
  return Math.floor(size / 512) * 512;
}

function truncatedHeader(): CheckFailure {
  return { check: 'truncated', reason: 'qcow2 header is truncated' };
}
