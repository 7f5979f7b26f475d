/**
 * The Range and Content-Range headers of GET /v2/images/{id}/file read into the service's
 * RangeRequest (src/blob/range.ts resolves it against the image), and the 206's
 * Content-Range. Parsing never throws: Glance answers a bad header only after finding the
 * image, so a refusal travels as data.
 */
import type { RangeRequest } from '../blob/range.js';
import type { ByteRange } from '../domain/ports.js';

// webob's pattern: `bytes`, any case, then spaces allowed around `=` and `-`. It is anchored at
// the start only, so trailing text ("bytes=0-4junk") is ignored. Python's \d could match other
// Unicode digits, but WSGI header values are latin-1, which has none besides 0-9.
const RANGE = /^bytes *= *([0-9]*) *- *([0-9]*)/i;

// webob's Content-Range pattern: case-sensitive, exactly one space; also anchored at the start.
const CONTENT_RANGE = /^bytes (?:([0-9]+)-([0-9]+)|\*)\/(?:([0-9]+)|\*)/;

/**
 * A download's Range header (Glance's rules): a `,` anywhere is refused before parsing
 * (multiple ranges, 400); anything not `bytes=a-b`, `bytes=a-` or `bytes=-n` (other units, no
 * `-`, `a > b`, an empty value) is unsatisfiable. webob's `req.range` would ignore such a
 * header, but Glance calls `Range.parse` itself and answers 416 when it returns None.
 */
export function parseRangeHeader(header: string): RangeRequest {
  if (header.includes(',')) return { header: 'Range', kind: 'multiple' };
  const invalid: RangeRequest = { header: 'Range', kind: 'unsatisfiable', message: `Invalid Range header: ${header}` };
  const match = RANGE.exec(header);
  if (!match) return invalid;
  const [, first = '', last = ''] = match;
  if (first === '') {
    // Glance crashes (500) on `bytes=-`, where webob calls int(''); Iris answers 416.
    if (last === '') return invalid;
    return { header: 'Range', kind: 'suffix', length: Number(last) };
  }
  const start = Number(first);
  if (last !== '' && start > Number(last)) return invalid;
  return { header: 'Range', kind: 'from', start, end: last === '' ? null : Number(last) };
}

/**
 * A Content-Range header sent with a download, which Glance still honours for backward
 * compatibility when no Range header is present: only `bytes a-b/len` or `bytes a-b/*`,
 * lower-case, one space; `a > b`, `b >= len` or `a >= len` is unsatisfiable. Glance fails with
 * 500 on the `bytes * /…` forms (Iris: 416).
 */
export function parseContentRangeHeader(header: string): RangeRequest {
  const invalid: RangeRequest = { header: 'Content-Range', kind: 'unsatisfiable', message: `Invalid Content-Range header: ${header}` };
  const match = CONTENT_RANGE.exec(header);
  if (!match) return invalid;
  const [, first, last, declared] = match;
  if (first === undefined || last === undefined) return invalid;
  const start = Number(first);
  const end = Number(last);
  const length = declared === undefined ? null : Number(declared);
  if (start > end || (length !== null && (end >= length || start >= length))) return invalid;
  return { header: 'Content-Range', kind: 'span', start, end, length };
}

/** The range a download asks for: Range, else Content-Range, else none (the whole image). */
export function rangeRequestOf(headers: { readonly range?: string; readonly 'content-range'?: string }): RangeRequest | undefined {
  if (headers.range !== undefined) return parseRangeHeader(headers.range);
  if (headers['content-range'] !== undefined) return parseContentRangeHeader(headers['content-range']);
  return undefined;
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
