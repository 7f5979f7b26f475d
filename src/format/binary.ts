/**
 * Reading integers out of header bytes. Disk headers carry 64-bit fields; JavaScript numbers
 * are exact only up to 2^53, so 64-bit reads return null beyond that and inspectors treat such
 * a value as impossible (no real image has a field that large, and a crafted one must not
 * turn into a rounded number that passes a check).
 */

/** Largest value a 64-bit field may hold and still be used as a number. */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** A big-endian unsigned 64-bit field, or null when it exceeds 2^53 - 1. */
export function u64be(buf: Buffer, offset: number): number | null {
  return exact(buf.readBigUInt64BE(offset));
}

/** A little-endian unsigned 64-bit field, or null when it exceeds 2^53 - 1. */
export function u64le(buf: Buffer, offset: number): number | null {
  return exact(buf.readBigUInt64LE(offset));
}

/** True when the 64-bit field at `offset` has every bit set (a "none"/"at end" marker). */
export function allOnes64(buf: Buffer, offset: number): boolean {
  return buf.readBigUInt64LE(offset) === 0xffffffffffffffffn;
}

function exact(value: bigint): number | null {
  return value <= BigInt(MAX_EXACT) ? Number(value) : null;
}

/** True when every byte of `buf[start, end)` is zero. */
export function isZero(buf: Buffer, start = 0, end = buf.length): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** `value` is a power of two (and positive). */
export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && 2 ** Math.round(Math.log2(value)) === value;
}

/** Whether `buf` holds exactly `ascii` at `offset`. */
export function hasAscii(buf: Buffer, offset: number, ascii: string): boolean {
  if (buf.length < offset + ascii.length) return false;
  return buf.toString('latin1', offset, offset + ascii.length) === ascii;
}
