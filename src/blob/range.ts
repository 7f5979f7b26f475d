/**
 * A byte range a download asks for, as the HTTP layer read it from the Range or Content-Range
 * header (src/http/range-header.ts), and its resolution against the image's size, following
 * Glance 25.1.0: `Request.get_range_from_request` (glance/common/wsgi.py), webob's
 * `Range.parse` / `ContentRange.parse` and `ResponseSerializer.download`. Refusals are data
 * until resolved: Glance answers them only after finding the image and checking the policy.
 * Where Glance fails with a 500 on a malformed header, Iris answers 416; each such place is
 * marked in range-header.ts.
 */
import { Invalid, RangeNotSatisfiable } from '../domain/errors.js';
import type { ByteRange } from '../domain/ports.js';

export type RangeRequest =
  /** `bytes=a-b` (end null for `bytes=a-`); `end >= start` already checked. */
  | { readonly header: 'Range'; readonly kind: 'from'; readonly start: number; readonly end: number | null }
  /** `bytes=-n`: the last n bytes. */
  | { readonly header: 'Range'; readonly kind: 'suffix'; readonly length: number }
  /** `bytes a-b/len` or `bytes a-b/*` (len null), sent with a download (Content-Range). */
  | { readonly header: 'Content-Range'; readonly kind: 'span'; readonly start: number; readonly end: number; readonly length: number | null }
  /** More than one range: Glance's 400. */
  | { readonly header: 'Range'; readonly kind: 'multiple' }
  /** A header Glance answers with 416 whatever the image. */
  | { readonly header: 'Range' | 'Content-Range'; readonly kind: 'unsatisfiable'; readonly message: string };

/**
 * The inclusive range to serve (206) of an image of `size` bytes.
 *
 * Rules (Glance's): a start at or beyond the size is unsatisfiable (so is every range of an
 * empty image); a Range end beyond the image is cut to `size - 1`; `bytes=-n` is the last n
 * bytes, the whole image when n >= size, and so is `bytes=-0` (Glance serves 206 with all bytes
 * there, not 416). A Content-Range without a length may not end beyond the image; with one,
 * Glance does not check the end against the image and sends a short body, where Iris cuts it.
 *
 * @throws Invalid for multiple ranges; RangeNotSatisfiable (carrying `size`) otherwise.
 * @example resolveRange({ header: 'Range', kind: 'from', start: 0, end: 4 }, 10) // { start: 0, end: 4 }
 */
export function resolveRange(request: RangeRequest, size: number): ByteRange {
  switch (request.kind) {
    case 'multiple':
      throw new Invalid('Multiple ranges in one request are not supported; request each range separately');
    case 'unsatisfiable':
      throw new RangeNotSatisfiable(request.message, size);
    case 'suffix':
      // Glance lets `bytes=-n` through on an empty image and then answers a broken 206
      // (`bytes 0--1/0`); nothing can be served, so Iris answers 416.
      if (size === 0) throw new RangeNotSatisfiable('Range is not satisfiable for an empty image', size);
      // webob turns `-0` into start 0, which Glance then takes as an ordinary `bytes=0-`.
      return { start: request.length === 0 || request.length >= size ? 0 : size - request.length, end: size - 1 };
    case 'from':
      if (request.start >= size) throw new RangeNotSatisfiable(startOutside('Range', size), size);
      return { start: request.start, end: request.end === null ? size - 1 : Math.min(request.end, size - 1) };
    case 'span':
      if (request.length === null && request.end >= size) {
        throw new RangeNotSatisfiable(`Invalid stop position in Content-Range header; it must be at most ${size - 1}`, size);
      }
      if (request.start >= size) throw new RangeNotSatisfiable(startOutside('Content-Range', size), size);
      return { start: request.start, end: Math.min(request.end, size - 1) };
  }
}

function startOutside(header: string, size: number): string {
  if (size === 0) return `Invalid start position in ${header} header; the image is empty`;
  return `Invalid start position in ${header} header; it must be between 0 and ${size - 1}`;
}
