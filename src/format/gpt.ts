/**
 * Raw disks with a partition table: a PC master boot record, or a GPT behind its protective
 * MBR. Such a disk *is* a raw disk (`disk_format` raw); it is recognised so that its partition
 * structures can be checked, as Glance does for what it calls the `gpt` format.
 *
 * MBR (first 512 bytes): four 16-byte partition entries from 446 (boot flag, CHS start, type,
 * CHS end, start LBA (u32 LE), sector count (u32 LE)) and the signature 0x55 0xAA at 510.
 * GPT header (at LBA 1: byte 512, or 4096 on 4 KiB-sector disks): "EFI PART", revision,
 * header size (12), CRC-32 of the header (16), current LBA (24, u64), backup LBA (32),
 * first and last usable LBA (40, 48).
 *
 * Checks, by the names `[image_format] gpt_safety_checks_nonfatal` accepts:
 * - `mbr`: boot flags are 0x00 or 0x80 and at least one partition is defined;
 * - `gptmbr`: a protective MBR holds only the 0xEE entry, starting at LBA 1, and the GPT header
 *   it protects is present, intact and fits in the data.
 */
import { crc32 } from 'node:zlib';
import { hasAscii, isPowerOfTwo, u64le } from './binary.js';
import { bytes, finding, totalSize } from './format-inspector.js';
import type { Answer, CheckFailure, FormatInspector, Inspection, Need } from './format-inspector.js';

const PARTITION_TABLE = 446;
const PROTECTIVE = 0xee;
const GPT_HEADER_MIN = 92;

/** Recognises partitioned raw disks (format `gpt`, for GPT and plain MBR alike). */
export const gptInspector: FormatInspector = {
  format: 'gpt',
  inspect,
};

function* inspect(): Inspection {
  const mbr = yield* bytes(0, 512);
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return null;
  // The boot sector of a bare file system carries the same signature but no partition table.
  if (isVolumeBootRecord(mbr)) return null;

  const failures: CheckFailure[] = [];
  const entries = [0, 1, 2, 3].map((i) => {
    const at = PARTITION_TABLE + 16 * i;
    return { boot: mbr.readUInt8(at), type: mbr.readUInt8(at + 4), start: mbr.readUInt32LE(at + 8) };
  });
  if (entries.some((e) => e.boot !== 0x00 && e.boot !== 0x80)) {
    failures.push({ check: 'mbr', reason: 'MBR partition entry has an invalid boot flag' });
  }
  const used = entries.filter((e) => e.type !== 0);
  if (used.length === 0) failures.push({ check: 'mbr', reason: 'MBR defines no partitions' });

  const fileSize = yield* gptChecks(used, failures);
  return finding('gpt', fileSize, failures, used.some((e) => e.type === PROTECTIVE) ? 'gpt' : 'mbr');
}

/** Checks the protective MBR and GPT header when there is one; returns the data size. */
function* gptChecks(
  used: readonly { type: number; start: number }[],
  failures: CheckFailure[],
): Generator<Need, number, Answer> {
  const fail = (reason: string): void => void failures.push({ check: 'gptmbr', reason });
  if (!used.some((e) => e.type === PROTECTIVE)) return yield* totalSize();
  if (used.length !== 1) fail('protective MBR defines partitions besides the GPT');
  else if (used[0]!.start !== 1) fail('protective MBR does not start at LBA 1');

  let header = yield* bytes(512, 512);
  let sector = 512;
  if (!hasAscii(header, 0, 'EFI PART')) {
    header = yield* bytes(4096, 4096);
    sector = 4096;
  }
  const fileSize = yield* totalSize();
  if (!hasAscii(header, 0, 'EFI PART') || header.length < GPT_HEADER_MIN) {
    fail('protective MBR without a GPT header');
    return fileSize;
  }
  const size = header.readUInt32LE(12);
  if (size < GPT_HEADER_MIN || size > sector || size > header.length) {
    fail('GPT header size is invalid');
    return fileSize;
  }
  const copy = Buffer.from(header.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  if ((crc32(copy) >>> 0) !== header.readUInt32LE(16)) fail('GPT header checksum is wrong');
  const current = u64le(header, 24);
  const backup = u64le(header, 32);
  const first = u64le(header, 40);
  const last = u64le(header, 48);
  const entrySize = header.readUInt32LE(84);
  if (current !== 1) fail('GPT header is not at LBA 1');
  if (first === null || last === null || first > last) fail('GPT usable area is invalid');
  if (entrySize < 128 || !isPowerOfTwo(entrySize)) fail('GPT partition entry size is invalid');
  if (backup === null || (backup + 1) * sector > fileSize || (last !== null && last >= backup)) {
    fail('GPT disk is larger than the data (truncated)');
  }
  return fileSize;
}

/**
 * A FAT, exFAT or NTFS boot sector: a jump instruction, then a BIOS parameter block with a
 * sane sector size, cluster size, reserved sectors, FAT count and media descriptor.
 */
function isVolumeBootRecord(sector: Buffer): boolean {
  const oem = sector.toString('latin1', 3, 11);
  if (oem === 'NTFS    ' || oem === 'EXFAT   ') return true;
  const jump = (sector[0] === 0xeb && sector[2] === 0x90) || sector[0] === 0xe9;
  const bytesPerSector = sector.readUInt16LE(11);
  const sectorsPerCluster = sector.readUInt8(13);
  const reserved = sector.readUInt16LE(14);
  const fats = sector.readUInt8(16);
  const media = sector.readUInt8(21);
  return (
    jump &&
    [512, 1024, 2048, 4096].includes(bytesPerSector) &&
    isPowerOfTwo(sectorsPerCluster) &&
    sectorsPerCluster <= 128 &&
    reserved >= 1 &&
    (fats === 1 || fats === 2) &&
    (media === 0xf0 || media >= 0xf8)
  );
}
