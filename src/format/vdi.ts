/**
 * VirtualBox disk images (VDI 1.1). The checks are the ones QEMU makes when it opens one
 * (block/vdi.c), plus truncation, so that an accepted image opens in qemu with the same size.
 *
 * Little-endian header after a 64-byte text banner:
 *   0x40 signature 0xbeda107f  0x44 version (0x00010001)  0x48 header_size  0x4c image_type
 *   0x154 offset_bmap  0x158 offset_data  0x168 sector_size  0x170 disk_size (u64)
 *   0x178 block_size  0x180 blocks_in_image  0x184 blocks_allocated
 *   0x188 uuid_image  0x198 uuid_last_snap  0x1a8 uuid_link  0x1b8 uuid_parent (16 bytes each).
 */
import { isZero, u64le } from './binary.js';
import { bytes, finding, totalSize } from './format-inspector.js';
import type { CheckFailure, FormatInspector, Inspection } from './format-inspector.js';

const SIGNATURE = 0xbeda107f;
const VERSION_1_1 = 0x00010001;
const HEADER_END = 0x1c8;
const TYPE_DYNAMIC = 1;
const TYPE_STATIC = 2;
const SECTOR = 512;
const BLOCK = 1024 * 1024;
/** QEMU's limit: a block map entry is 32 bits. */
const MAX_BLOCKS = Math.floor(0xffffffff / 4);

/** Recognises VDI images; refuses differencing images and anything QEMU would not open. */
export const vdiInspector: FormatInspector = {
  format: 'vdi',
  inspect,
};

function* inspect(): Inspection {
  const head = yield* bytes(0, 512);
  if (head.length < 0x44 || head.readUInt32LE(0x40) !== SIGNATURE) return null;
  if (head.length < HEADER_END) return finding('vdi', null, [{ check: 'truncated', reason: 'VDI header is truncated' }]);

  const failures: CheckFailure[] = [];
  const fail = (check: string, reason: string): void => void failures.push({ check, reason });

  const version = head.readUInt32LE(0x44);
  if (version !== VERSION_1_1) fail('header', 'unsupported VDI version');
  const type = head.readUInt32LE(0x4c);
  const offsetBmap = head.readUInt32LE(0x154);
  const offsetData = head.readUInt32LE(0x158);
  const sectorSize = head.readUInt32LE(0x168);
  const rawDiskSize = u64le(head, 0x170);
  // QEMU rounds an odd size (VBoxManage convertfromraw writes them) up to whole sectors.
  const diskSize = rawDiskSize === null ? null : Math.ceil(rawDiskSize / SECTOR) * SECTOR;
  const blockSize = head.readUInt32LE(0x178);
  const blocks = head.readUInt32LE(0x180);
  const allocated = head.readUInt32LE(0x184);

  // Undo and differencing images (and any image linked to a parent) read another file.
  if (!isZero(head, 0x1a8, 0x1c8) || type === 3 || type === 4) {
    fail('backing_file', 'VDI image is a differencing image with a parent');
  } else if (type !== TYPE_DYNAMIC && type !== TYPE_STATIC) {
    fail('header', `unknown VDI image type ${type}`);
  }
  if (offsetBmap % SECTOR !== 0 || offsetData % SECTOR !== 0) fail('header', 'VDI offsets are not sector aligned');
  if (sectorSize !== SECTOR) fail('header', 'VDI sector size is not 512');
  if (blockSize !== BLOCK) fail('header', 'VDI block size is not 1 MiB');
  if (blocks > MAX_BLOCKS) fail('header', 'VDI image has too many blocks');
  if (allocated > blocks) fail('header', 'VDI image allocates more blocks than it has');
  if (diskSize === null || diskSize > blocks * BLOCK) fail('header', 'VDI disk size exceeds its block map');

  const fileSize = yield* totalSize();
  const dataBlocks = type === TYPE_STATIC ? blocks : allocated;
  if (offsetBmap + blocks * 4 > fileSize || (dataBlocks > 0 && offsetData + dataBlocks * BLOCK > fileSize)) {
    fail('truncated', 'VDI image is truncated');
  }
  return finding('vdi', diskSize, failures, type === TYPE_STATIC ? 'static' : 'dynamic');
}
