import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTtlCache } from './ttl-cache.js';

test('an entry is returned until its own expiry, never after', () => {
  let t = 1000;
  const cache = createTtlCache<string>({ maxEntries: 10, now: () => t });
  cache.set('a', 'A', 1500);
  assert.equal(cache.get('a'), 'A');
  t = 1499;
  assert.equal(cache.get('a'), 'A');
  t = 1500;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size, 0, 'an expired entry is dropped when seen');
});

test('an expiry not in the future stores nothing', () => {
  const cache = createTtlCache<string>({ maxEntries: 10, now: () => 1000 });
  cache.set('a', 'A', 1000);
  cache.set('b', 'B', 10);
  assert.equal(cache.size, 0);
  cache.set('c', 'C', 2000);
  cache.set('c', 'C2', 999);
  assert.equal(cache.get('c'), undefined, 'a refused update removes the old value too');
});

test('when full, the least recently used entry goes first', () => {
  const cache = createTtlCache<number>({ maxEntries: 2, now: () => 0 });
  cache.set('a', 1, 100);
  cache.set('b', 2, 100);
  assert.equal(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3, 100);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.size, 2);
});
