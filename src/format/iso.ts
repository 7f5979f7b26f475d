/**
 * Optical disc images: ISO 9660 and UDF. The first 32 KiB (16 sectors of 2 KiB) are a system
 * area free for anything (hybrid ISOs put an MBR or GPT there); the volume descriptors follow,
 * one per 2 KiB sector: type (1 byte), standard identifier (5 bytes: "CD001" for ISO 9660,
 * "BEA01"/"NSR02"/"NSR03"/"TEA01" for UDF's recognition sequence), version.
 * The ISO 9660 primary volume descriptor (type 1) holds the volume space size in blocks at 80
 * and the logical block size at 128, each stored little-endian then big-endian.
 *
 * QEMU has no ISO driver: `qemu-img info` calls an ISO raw and reports its file size, so that
 * is the virtual size here too. A volume that claims more blocks than the file holds is
 * truncated.
 */
import { bytes, finding, totalSize } from './format-inspector.js';
import type { CheckFailure, FormatInspector, Inspection } from './format-inspector.js';

const SYSTEM_AREA = 32 * 1024;
const SECTOR = 2048;
/** How many descriptors to look through for the end of the set. */
const MAX_DESCRIPTORS = 16;
const TYPE_PRIMARY = 1;
const TYPE_TERMINATOR = 255;

/** Recognises ISO 9660 and UDF images. */
export const isoInspector: FormatInspector = {
  format: 'iso',
  inspect,
};

function* inspect(): Inspection {
  const failures: CheckFailure[] = [];
  let variant: 'iso9660' | 'udf' | undefined;
  let volumeBytes: number | null = null;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const sector = yield* bytes(SYSTEM_AREA + i * SECTOR, SECTOR);
    const id = sector.length >= 7 ? sector.toString('latin1', 1, 6) : '';
    if (i === 0 && id !== 'CD001' && id !== 'BEA01' && id !== 'NSR02' && id !== 'NSR03') return null;
    if (sector.length < SECTOR) {
      failures.push({ check: 'truncated', reason: 'ISO volume descriptors are truncated' });
      break;
    }
    const type = sector[0];
    if (id === 'CD001') {
      variant ??= 'iso9660';
      if (type === TYPE_TERMINATOR) break;
      if (type === TYPE_PRIMARY && volumeBytes === null) {
        const blocks = sector.readUInt32LE(80);
        const blockSize = sector.readUInt16LE(128);
        if (blocks !== sector.readUInt32BE(84) || blockSize !== sector.readUInt16BE(130)) {
          failures.push({ check: 'header', reason: 'ISO primary volume descriptor is inconsistent' });
        } else if (blockSize !== 512 && blockSize !== 1024 && blockSize !== 2048) {
          failures.push({ check: 'header', reason: 'ISO logical block size is invalid' });
        } else {
          volumeBytes = blocks * blockSize;
        }
      }
    } else if (id === 'NSR02' || id === 'NSR03') {
      variant = variant === undefined ? 'udf' : variant;
    } else if (id === 'TEA01' || (id !== 'BEA01' && id !== 'CD001')) {
      break;
    }
  }
  const fileSize = yield* totalSize();
  if (volumeBytes !== null && volumeBytes > fileSize) {
    failures.push({ check: 'truncated', reason: 'ISO image is shorter than its volume' });
  }
  if (variant === undefined) {
    // A recognition sequence without a file system descriptor: not something anyone can boot.
    failures.push({ check: 'header', reason: 'ISO image has no ISO 9660 or UDF volume descriptor' });
  }
  return finding('iso', fileSize, failures, variant);
}
