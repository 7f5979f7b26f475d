/**
 * Byte ranges for GET /v2/images/{id}/file, following Glance 25.1.0: its
 * `Request.get_range_from_request` (glance/common/wsgi.py), webob's `Range.parse` /
 * `ContentRange.parse` (webob/byterange.py), and `ResponseSerializer.download`
 * (glance/api/v2/image_data.py). Where Glance fails with a 500 on a malformed header, Iris
 * answers 416 instead; each such place is marked below.
 */
import type { ByteRange } from '../domain/ports.js';
import { Invalid, RangeNotSatisfiable } from '../domain/errors.js';

// webob's pattern: `bytes`, any case, then spaces allowed around `=` and `-`. It is anchored at
// the start only, so trailing text ("bytes=0-4junk") is ignored. Python's \d could match other
// Unicode digits, but WSGI header values are latin-1, which has none besides 0-9.
const RANGE = /^bytes *= *([0-9]*) *- *([0-9]*)/i;

// webob's Content-Range pattern: case-sensitive, exactly one space; also anchored at the start.
const CONTENT_RANGE = /^bytes (?:([0-9]+)-([0-9]+)|\*)\/(?:([0-9]+)|\*)/;

/**
 * Parses a request's `Range` header against an image of `size` bytes.
 *
 * Rules (Glance's):
 * - no header → null (the whole image, 200);
 * - a `,` anywhere → Invalid (400): Glance refuses multiple ranges before parsing;
 * - anything not matching `bytes=a-b`, `bytes=a-` or `bytes=-n` (other units, no `-`, `a > b`,
 *   an empty value) → RangeNotSatisfiable. Note that webob's `req.range` would ignore such a
 *   header, but Glance calls `Range.parse` itself and answers 416 when it returns None;
 * - `a >= size` → RangeNotSatisfiable (so every range of an empty image is unsatisfiable);
 * - `b` beyond the image is cut to `size - 1`;
 * - `bytes=-n`: the last n bytes; n >= size gives the whole image, and so does `bytes=-0`
 *   (Glance serves 206 with all bytes there, not 416).
 *
 * @returns the inclusive range to serve with 206, or null to serve the whole image with 200.
 * @throws Invalid for multiple ranges; RangeNotSatisfiable (carrying `size`) otherwise.
 * @example parseRange('bytes=0-4', 10) // { start: 0, end: 4 }
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  if (header.includes(',')) {
    throw new Invalid('Multiple ranges in one request are not supported; request each range separately');
  }
  const match = RANGE.exec(header);
  if (!match) throw unsatisfiable(`Invalid Range header: ${header}`, size);
  const [, first = '', last = ''] = match;

  if (first === '') {
    // Glance crashes (500) on `bytes=-`, where webob calls int(''); Iris answers 416.
    if (last === '') throw unsatisfiable(`Invalid Range header: ${header}`, size);
    const suffix = Number(last);
    // Glance lets `bytes=-n` through on an empty image and then answers a broken 206
    // (`bytes 0--1/0`); nothing can be served, so Iris answers 416.
    if (size === 0) throw unsatisfiable('Range is not satisfiable for an empty image', size);
    // webob turns `-0` into start 0, which Glance then takes as an ordinary `bytes=0-`.
    const start = suffix === 0 || suffix >= size ? 0 : size - suffix;
    return { start, end: size - 1 };
  }

  const start = Number(first);
  if (last !== '' && start > Number(last)) throw unsatisfiable(`Invalid Range header: ${header}`, size);
  if (start >= size) throw unsatisfiable(startOutside('Range', size), size);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { start, end };
}

/**
 * Parses a `Content-Range` header sent in a download request, which Glance still honours for
 * backward compatibility when no `Range` header is present. Call it only when `Range` is absent.
 *
 * Rules (Glance's): only `bytes a-b/len` or `bytes a-b/*`, lower-case, one space; `a > b`, or
 * `b >= len`, or `a >= len` → RangeNotSatisfiable; with `/*`, `b >= size` → RangeNotSatisfiable;
 * `a >= size` → RangeNotSatisfiable. The `len` given is otherwise ignored.
 * Divergences: Glance fails with 500 on the `bytes * /…` forms (Iris: 416), and with a `len`
 * given it does not check `b` against the image and sends a short body; Iris cuts `b` to
 * `size - 1`.
 *
 * @returns the inclusive range to serve with 206, or null when there is no header.
 * @throws RangeNotSatisfiable (carrying `size`).
 * @example parseRequestContentRange('bytes 2-5/*', 10) // { start: 2, end: 5 }
 */
export function parseRequestContentRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const match = CONTENT_RANGE.exec(header);
  if (!match) throw unsatisfiable(`Invalid Content-Range header: ${header}`, size);
  const [, first, last, declared] = match;
  if (first === undefined || last === undefined) {
    throw unsatisfiable(`Invalid Content-Range header: ${header}`, size);
  }
  const start = Number(first);
  const end = Number(last);
  const length = declared === undefined ? undefined : Number(declared);
  if (start > end || (length !== undefined && (end >= length || start >= length))) {
    throw unsatisfiable(`Invalid Content-Range header: ${header}`, size);
  }
  if (length === undefined && end >= size) {
    throw unsatisfiable(`Invalid stop position in Content-Range header; it must be at most ${size - 1}`, size);
  }
  if (start >= size) throw unsatisfiable(startOutside('Content-Range', size), size);
  return { start, end: Math.min(end, size - 1) };
}

/**
 * The `Content-Range` response header for a 206.
 * @example contentRange({ start: 0, end: 4 }, 10) // 'bytes 0-4/10'
 */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** Number of bytes in an inclusive range (the 206's Content-Length). */
export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}

function startOutside(header: string, size: number): string {
  if (size === 0) return `Invalid start position in ${header} header; the image is empty`;
  return `Invalid start position in ${header} header; it must be between 0 and ${size - 1}`;
}

function unsatisfiable(message: string, size: number): RangeNotSatisfiable {
  return new RangeNotSatisfiable(message, size);
}
