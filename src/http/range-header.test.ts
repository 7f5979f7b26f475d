import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRange } from '../blob/range.js';
import { Invalid, RangeNotSatisfiable } from '../domain/errors.js';
import type { ByteRange } from '../domain/ports.js';
import { contentRange, parseContentRangeHeader, parseRangeHeader, rangeLength, rangeRequestOf } from './range-header.js';

// The header as read here, then resolved against the image as the image-data service does.
function parseRange(header: string | undefined, size: number): ByteRange | null {
  return header === undefined ? null : resolveRange(parseRangeHeader(header), size);
}
function parseRequestContentRange(header: string | undefined, size: number): ByteRange | null {
  return header === undefined ? null : resolveRange(parseContentRangeHeader(header), size);
}

function unsatisfiable(size: number) {
  return (err: unknown) => {
    assert.ok(err instanceof RangeNotSatisfiable, `expected RangeNotSatisfiable, got ${String(err)}`);
    assert.equal(err.size, size);
    return true;
  };
}

test('parseRange: no header means the whole image', () => {
  assert.equal(parseRange(undefined, 10), null);
});

test('parseRange: bytes=a-b is inclusive', () => {
  assert.deepEqual(parseRange('bytes=0-4', 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange('bytes=3-3', 10), { start: 3, end: 3 });
  assert.deepEqual(parseRange('bytes=0-9', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=9-9', 10), { start: 9, end: 9 });
});

test('parseRange: an end beyond the image is cut to size-1', () => {
  assert.deepEqual(parseRange('bytes=2-10', 10), { start: 2, end: 9 });
  assert.deepEqual(parseRange('bytes=2-999999999999999999999999', 10), { start: 2, end: 9 });
});

test('parseRange: bytes=a- runs to the end', () => {
  assert.deepEqual(parseRange('bytes=0-', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=7-', 10), { start: 7, end: 9 });
});

test('parseRange: bytes=-n is the last n bytes, the whole image when n >= size', () => {
  assert.deepEqual(parseRange('bytes=-2', 10), { start: 8, end: 9 });
  assert.deepEqual(parseRange('bytes=-9', 10), { start: 1, end: 9 });
  assert.deepEqual(parseRange('bytes=-10', 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=-50', 10), { start: 0, end: 9 });
});

test('parseRange: bytes=-0 serves the whole image, as Glance does', () => {
  assert.deepEqual(parseRange('bytes=-0', 10), { start: 0, end: 9 });
});

test('parseRange: start at or past the size is unsatisfiable', () => {
  assert.throws(() => parseRange('bytes=10-', 10), unsatisfiable(10));
  assert.throws(() => parseRange('bytes=10-20', 10), unsatisfiable(10));
  assert.throws(() => parseRange('bytes=4-', 3), unsatisfiable(3));
  assert.throws(() => parseRange('bytes=99999999999999999999999-', 3), unsatisfiable(3));
});

test('parseRange: every range of an empty image is unsatisfiable', () => {
  assert.throws(() => parseRange('bytes=0-', 0), unsatisfiable(0));
  assert.throws(() => parseRange('bytes=0-0', 0), unsatisfiable(0));
  assert.throws(() => parseRange('bytes=-1', 0), unsatisfiable(0));
  assert.throws(() => parseRange('bytes=-0', 0), unsatisfiable(0));
});

test('parseRange: start after end is unsatisfiable', () => {
  assert.throws(() => parseRange('bytes=5-3', 10), unsatisfiable(10));
});

test('parseRange: several ranges are a 400, whatever else is in the header', () => {
  assert.throws(() => parseRange('bytes=0-1,3-4', 10), Invalid);
  assert.throws(() => parseRange('bytes=0-1,', 10), Invalid);
  // The comma check comes first in Glance, so even a bad unit with a comma is a 400.
  assert.throws(() => parseRange('items=0-1,3-4', 10), Invalid);
});

test('parseRange: units other than bytes are unsatisfiable', () => {
  assert.throws(() => parseRange('items=0-4', 10), unsatisfiable(10));
  assert.throws(() => parseRange('none', 10), unsatisfiable(10));
});

test('parseRange: headers webob cannot parse are unsatisfiable, not ignored', () => {
  for (const header of ['', 'bytes', 'bytes=', 'bytes=1', 'bytes=a-b', 'bytes=-', 'bytes=-x', 'bytes=--1', ' bytes=0-1', 'bytes\t=0-1']) {
    assert.throws(() => parseRange(header, 10), unsatisfiable(10), JSON.stringify(header));
  }
});

test('parseRange: the unit is case-insensitive, spaces are allowed around = and -', () => {
  assert.deepEqual(parseRange('BYTES=1-2', 10), { start: 1, end: 2 });
  assert.deepEqual(parseRange('Bytes = 1 - 2', 10), { start: 1, end: 2 });
  assert.deepEqual(parseRange('bytes= -3', 10), { start: 7, end: 9 });
});

test('parseRange: text after a valid range is ignored (webob matches a prefix)', () => {
  assert.deepEqual(parseRange('bytes=0-4junk', 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange('bytes=0-4-7', 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange('bytes=2-;x', 10), { start: 2, end: 9 });
});

test('parseRange: leading zeros are plain decimals', () => {
  assert.deepEqual(parseRange('bytes=007-0008', 10), { start: 7, end: 8 });
});

test('parseRequestContentRange: absent means no range', () => {
  assert.equal(parseRequestContentRange(undefined, 10), null);
});

test('parseRequestContentRange: bytes a-b/len and bytes a-b/*', () => {
  assert.deepEqual(parseRequestContentRange('bytes 2-5/*', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRequestContentRange('bytes 2-5/10', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRequestContentRange('bytes 0-9/*', 10), { start: 0, end: 9 });
  // The declared length is only checked against the range itself, not against the image.
  assert.deepEqual(parseRequestContentRange('bytes 2-5/100', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRequestContentRange('bytes 2-50/100', 10), { start: 2, end: 9 });
});

test('parseRequestContentRange: invalid forms are unsatisfiable', () => {
  for (const header of ['', 'bytes 5-2/*', 'bytes 2-10/10', 'bytes 10-12/11', 'Bytes 2-5/*', 'bytes=2-5/*', 'bytes */*', 'bytes */10', 'bytes 2-/10']) {
    assert.throws(() => parseRequestContentRange(header, 10), unsatisfiable(10), JSON.stringify(header));
  }
});

test('parseRequestContentRange: with /*, an end past the image or a start past it is unsatisfiable', () => {
  assert.throws(() => parseRequestContentRange('bytes 2-10/*', 10), unsatisfiable(10));
  assert.throws(() => parseRequestContentRange('bytes 10-20/100', 10), unsatisfiable(10));
});

test('contentRange and rangeLength', () => {
  assert.equal(contentRange({ start: 0, end: 4 }, 10), 'bytes 0-4/10');
  assert.equal(contentRange({ start: 9, end: 9 }, 10), 'bytes 9-9/10');
  assert.equal(rangeLength({ start: 0, end: 4 }), 5);
  assert.equal(rangeLength({ start: 9, end: 9 }), 1);
});

test('Range wins over Content-Range; neither means the whole image; reading never throws', () => {
  assert.equal(rangeRequestOf({}), undefined);
  assert.deepEqual(rangeRequestOf({ range: 'bytes=1-2', 'content-range': 'bytes 5-6/*' }), { header: 'Range', kind: 'from', start: 1, end: 2 });
  assert.deepEqual(rangeRequestOf({ 'content-range': 'bytes 5-6/*' }), { header: 'Content-Range', kind: 'span', start: 5, end: 6, length: null });
  // Refusals are data until the image is known (Glance answers 404/403 before a bad range).
  assert.deepEqual(parseRangeHeader('bytes=0-1,3-4'), { header: 'Range', kind: 'multiple' });
  assert.deepEqual(parseRangeHeader('lines=1-2'), { header: 'Range', kind: 'unsatisfiable', message: 'Invalid Range header: lines=1-2' });
});
