import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TooLarge } from './errors.js';
import { checkPropertyQuota, checkTagQuota, enforceLimits, KeystoneLimitExceeded, storageQuotaFullMessage, StorageQuotaFull } from './quota.js';

test('property quota: os_glance_* properties are not counted; negative is unlimited', () => {
  checkPropertyQuota(['a', 'b', 'os_glance_importing_to_stores'], 2);
  assert.throws(() => checkPropertyQuota(['a', 'b', 'c'], 2), (e: unknown) => {
    assert.ok(e instanceof TooLarge);
    assert.equal(e.message, 'The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 2');
    return true;
  });
  checkPropertyQuota(['a', 'b', 'c'], -1);
});

test('tag quota counts distinct tags', () => {
  checkTagQuota(['a', 'a', 'b'], 2);
  assert.throws(() => checkTagQuota(['a', 'b', 'c'], 2), /Attempted: 3, Maximum: 2/);
});

test("storage quota texts: a known size, and None for an unknown one", () => {
  assert.equal(storageQuotaFullMessage(5, 4), 'The size of the data 5 will exceed the limit. 4 bytes remaining.');
  assert.equal(storageQuotaFullMessage(null, 0), 'The size of the data None will exceed the limit. 0 bytes remaining.');
  assert.equal(new StorageQuotaFull(5, 4).message, 'Image exceeds the storage quota: The size of the data 5 will exceed the limit. 4 bytes remaining.');
});

test('limits: usage + delta must not pass the limit; every resource over is named, sorted; a missing limit is 0', () => {
  enforceLimits('p', { image_count_total: 3 }, { image_count_total: 2 }, { image_count_total: 1 });
  assert.throws(
    () => enforceLimits('p', { image_size_total: 1 }, { image_size_total: 2, image_count_uploading: 1 }, { image_size_total: 0, image_count_uploading: 0 }),
    (e: unknown) => {
      assert.ok(e instanceof KeystoneLimitExceeded);
      assert.equal(
        e.message,
        'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.' +
          '\n\nThe response body:\nProject p is over a limit for [Resource image_count_uploading is over limit of 0 due to current usage 1 and delta 0, ' +
          'Resource image_size_total is over limit of 1 due to current usage 2 and delta 0]',
      );
      return true;
    },
  );
});
