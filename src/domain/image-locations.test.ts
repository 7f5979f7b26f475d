import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLocationOp, locationUrlsOf, type LocationPatchOptions } from './image-locations.js';
import { Conflict, Forbidden, Invalid, TooLarge } from './errors.js';
import { newImage, transition, type Image } from './image.js';
import type { PatchOp } from './image-patch.js';

const now = new Date(0);
const queued = newImage({
  id: 'i1', name: null, visibility: 'shared', protected: false, os_hidden: false, owner: 'p', virtual_size: null,
  disk_format: 'raw', container_format: 'bare', min_ram: 0, min_disk: 0, created_at: now, updated_at: now, tags: [], properties: {},
});

const opts: LocationPatchOptions = {
  hashingAlgorithm: 'sha512',
  hashDigestBytes: 64,
  checkQuota: (n) => {
    if (n > 2) throw new TooLarge(`Attempted: ${n}, Maximum: 2`);
  },
  probe: (url) => (url.startsWith('http://ok/') ? { ok: true, size: 42 } : { ok: false }),
};
const add = (url: string, extra: Record<string, unknown> = {}, pos = '-'): PatchOp => ({
  op: 'add', path: ['locations', pos], value: { url, metadata: {}, ...extra }, jsonSchemaVersion: 10,
});
const remove = (pos: string): PatchOp => ({ op: 'remove', path: ['locations', pos], jsonSchemaVersion: 10 });

test('an added location activates a queued image with the probed size and the validation data', () => {
  const hash = 'ab'.repeat(64);
  const next = applyLocationOp(queued, add('http://ok/a', { validation_data: { os_hash_algo: 'sha512', os_hash_value: hash } }), opts);
  assert.equal(next.status, 'active');
  assert.equal(next.size, 42);
  assert.equal(next.os_hash_value, hash);
  assert.deepEqual(next.locations, [{ url: 'http://ok/a', metadata: {}, status: 'active' }]);
});

test('add: bad position, unknown store, duplicate, quota, status', () => {
  assert.throws(() => applyLocationOp(queued, add('http://ok/a', {}, 'x'), opts), (e) => e instanceof Invalid && /Invalid position for adding/.test(e.message));
  assert.throws(() => applyLocationOp(queued, add('http://nope/a'), opts), (e) => e instanceof Invalid && e.message === 'Invalid location');
  const one = applyLocationOp(queued, add('http://ok/a'), opts);
  assert.throws(() => applyLocationOp(one, add('http://ok/a'), opts), /The location http:\/\/ok\/a already exists/);
  const two = applyLocationOp(one, add('http://ok/b'), opts);
  assert.throws(() => applyLocationOp(two, add('http://ok/c'), opts), TooLarge);
  const off: Image = transition(two, 'deactivated');
  assert.throws(() => applyLocationOp(off, add('http://ok/c'), opts), (e) => e instanceof Conflict && /if image status is deactivated\./.test(e.message));
});

test('remove: never the last location, only when active, position checked', () => {
  const one = applyLocationOp(queued, add('http://ok/a'), opts);
  assert.throws(() => applyLocationOp(one, remove('0'), opts), (e) => e instanceof Forbidden && e.check === 'patch-last-location');
  assert.throws(() => applyLocationOp(queued, remove('0'), opts), (e) => e instanceof Conflict && /status is queued/.test(e.message));
  const two = applyLocationOp(one, add('http://ok/b'), opts);
  assert.throws(() => applyLocationOp(two, remove('2'), opts), /Invalid position for removing/);
  assert.deepEqual(applyLocationOp(two, remove('-'), opts).locations.map((l) => l.url), ['http://ok/a']);
});

test('validation data: algorithm, hex, length, and no new values once active', () => {
  const vd = (d: Record<string, string>) => add('http://ok/a', { validation_data: d });
  assert.throws(() => applyLocationOp(queued, vd({ os_hash_algo: 'md5', os_hash_value: '00' }), opts), /os_hash_algo must be sha512, not md5/);
  assert.throws(() => applyLocationOp(queued, vd({ os_hash_algo: 'sha512', os_hash_value: 'zz' }), opts), /not a valid hexadecimal value/);
  assert.throws(() => applyLocationOp(queued, vd({ os_hash_algo: 'sha512', os_hash_value: '00' }), opts), /should be 64 bytes/);
  assert.throws(() => applyLocationOp(queued, vd({ checksum: 'ab'.repeat(15) + 'zz', os_hash_algo: 'sha512', os_hash_value: '00'.repeat(64) }), opts), /checksum .* is not a valid hexadecimal value/);
  const active = applyLocationOp(queued, add('http://ok/a'), opts);
  assert.throws(
    () => applyLocationOp(active, add('http://ok/b', { validation_data: { os_hash_algo: 'sha512', os_hash_value: '00'.repeat(64) } }), opts),
    /New value\(s\) for os_hash_algo, os_hash_value may only be provided when image status is 'queued'/,
  );
});

test('the URLs a patch would probe', () => {
  const ops: PatchOp[] = [add('http://ok/a'), remove('0'), { op: 'replace', path: ['locations'], value: [{ url: 'http://ok/a', metadata: {} }, { url: 'http://ok/b', metadata: {} }], jsonSchemaVersion: 10 }];
  assert.deepEqual(locationUrlsOf(ops), ['http://ok/a', 'http://ok/b']);
});
