import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, isRetryableError, isRetryableStatus, MAX_RETRY_DELAY_MS } from './retry-policy.js';

test('exponential backoff with equal jitter, capped; Retry-After can only lengthen it', () => {
  assert.equal(backoffDelay(0, 100, undefined, () => 0), 50);
  assert.equal(backoffDelay(0, 100, undefined, () => 1), 100);
  assert.equal(backoffDelay(3, 100, undefined, () => 1), 800);
  assert.equal(backoffDelay(30, 100, undefined, () => 1), MAX_RETRY_DELAY_MS);
  assert.equal(backoffDelay(0, 100, '2', () => 1), 2000);
  assert.equal(backoffDelay(0, 100, '3600', () => 1), MAX_RETRY_DELAY_MS);
});

test('what counts as transient', () => {
  assert.equal(isRetryableStatus(503), true);
  assert.equal(isRetryableStatus(500), false);
  assert.equal(isRetryableStatus(409), false);
  assert.equal(isRetryableError(Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) })), true);
  assert.equal(isRetryableError(new Error('AbortError')), false);
});
