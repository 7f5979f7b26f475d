import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Invalid } from './errors.js';
import { newImage } from './image.js';
import {
  assertLocationAddable,
  hashed,
  hashingStarted,
  locationActive,
  locationImportReverted,
  parseAddLocationRequest,
  withAddedLocation,
} from './location-import.js';

const now = new Date(0);
const queued = newImage({
  id: 'i1', name: null, visibility: 'shared', protected: false, os_hidden: false, owner: 'p', virtual_size: null,
  disk_format: 'raw', container_format: 'bare', min_ram: 0, min_disk: 0, created_at: now, updated_at: now, tags: [], properties: {},
});
const SHA512 = 'ab'.repeat(64);

test('the request body: url required, validation_data both fields of a schema algorithm, hex of its size', () => {
  assert.deepEqual(parseAddLocationRequest({ url: 'http://h/x' }), { url: 'http://h/x' });
  assert.deepEqual(parseAddLocationRequest({ url: 'http://h/x', validation_data: { os_hash_algo: 'sha512', os_hash_value: SHA512 } }), {
    url: 'http://h/x',
    validationData: { os_hash_algo: 'sha512', os_hash_value: SHA512 },
  });
  const bad: unknown[] = [
    null, [], {}, { url: 1 },
    { url: 'u', validation_data: { os_hash_value: SHA512 } },
    { url: 'u', validation_data: { os_hash_algo: 'sha512' } },
    { url: 'u', validation_data: { os_hash_algo: 'sha384', os_hash_value: SHA512 } },
    { url: 'u', validation_data: { os_hash_algo: 'sha512', os_hash_value: SHA512, checksum: 'x' } },
    { url: 'u', validation_data: { os_hash_algo: 'sha512', os_hash_value: 'zz' } },
    { url: 'u', validation_data: { os_hash_algo: 'sha256', os_hash_value: SHA512 } },
  ];
  for (const body of bad) assert.throws(() => parseAddLocationRequest(body), Invalid, JSON.stringify(body));
  assert.throws(
    () => parseAddLocationRequest({ url: 'u', validation_data: { os_hash_algo: 'sha256', os_hash_value: SHA512 } }),
    /os_hash_value: \((ab)+\) is not the correct size for \(sha256\) \(should be \(32\) bytes\)/,
  );
});

test('only queued images take a location; the flow moves queued → importing → active through the transitions', () => {
  assertLocationAddable(queued);
  const loc = { url: 'http://h/x', metadata: {}, status: 'active' as const };
  const added = withAddedLocation(queued, loc, 99);
  assert.equal(added.size, 99);
  assert.deepEqual(added.locations, [loc]);
  const importing = hashingStarted(added, 'sha512');
  assert.equal(importing.status, 'importing');
  assert.equal(importing.os_hash_algo, 'sha512');
  const active = locationActive(hashed(importing, 'c'.repeat(32), SHA512));
  assert.equal(active.status, 'active');
  assert.equal(active.os_hash_value, SHA512);
  assert.throws(() => assertLocationAddable(active), (e) => e instanceof Conflict && /image status is active\./.test(e.message));
});

test('a wrong hash reverts to queued without digests; an http location stays, another goes', () => {
  const http = { url: 'http://h/x', metadata: {}, status: 'active' as const };
  const hashedImage = hashed(hashingStarted(withAddedLocation(queued, http, 5), 'sha512'), 'c'.repeat(32), SHA512);
  const back = locationImportReverted(hashedImage, http.url, true);
  assert.equal(back.status, 'queued');
  assert.equal(back.checksum, null);
  assert.equal(back.os_hash_algo, null);
  assert.equal(back.os_hash_value, null);
  assert.deepEqual(back.locations, [http]);
  const rbd = { url: 'rbd://fsid/pool/img/snap', metadata: {}, status: 'active' as const };
  const other = locationImportReverted(hashingStarted(withAddedLocation(queued, rbd, 5), 'sha512'), rbd.url, false);
  assert.deepEqual(other.locations, []);
  assert.equal(other.status, 'queued');
});
