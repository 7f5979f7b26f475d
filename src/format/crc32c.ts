/**
 * CRC-32C (Castagnoli), the checksum of VHDX headers and region tables. Node's zlib only
 * offers the IEEE CRC-32 (used by GPT), hence this small table-driven version.
 */

const TABLE = buildTable(0x82f63b78);

function buildTable(reversedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reversedPolynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32C of `buf`, reading the 4 bytes at `zeroAt` (a stored checksum field) as zeros.
 * @example crc32c(header, 4) === header.readUInt32LE(4)
 */
export function crc32c(buf: Buffer, zeroAt?: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    // i < buf.length, and the table has an entry for every byte value.
    const byte = zeroAt !== undefined && i >= zeroAt && i < zeroAt + 4 ? 0 : buf[i]!;
    crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
