import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IMPORT_FILTER } from './uri-filter.js';
import { createWebSource } from './web-source.js';

test('request-time check: an IP-literal host gets the connect-time address policy, as Glance refuses it before the task', () => {
  const strict = createWebSource({ filter: DEFAULT_IMPORT_FILTER, allowPrivateNetworks: false, allowLoopback: false });
  assert.equal(strict.passesFilter('http://127.0.0.1/x.img'), false);
  assert.equal(strict.passesFilter('http://169.254.169.254/latest'), false);
  assert.equal(strict.passesFilter('http://10.0.0.1/x.img'), false);
  assert.equal(strict.passesFilter('http://[::1]/x.img'), false);
  assert.equal(strict.passesFilter('http://93.184.216.34/x.img'), true);
  // Names are resolved at connect time only.
  assert.equal(strict.passesFilter('http://localhost/x.img'), true);
  assert.equal(strict.passesFilter('http://127.0.0.1:8080/x.img'), false, 'the port filter still applies');

  const private_ = createWebSource({ filter: DEFAULT_IMPORT_FILTER, allowPrivateNetworks: true, allowLoopback: false });
  assert.equal(private_.passesFilter('http://10.0.0.1/x.img'), true);
  assert.equal(private_.passesFilter('http://127.0.0.1/x.img'), false);

  const loopback = createWebSource({ filter: DEFAULT_IMPORT_FILTER, allowPrivateNetworks: false, allowLoopback: true });
  assert.equal(loopback.passesFilter('http://127.0.0.1/x.img'), true);

  const denied = createWebSource({
    filter: { ...DEFAULT_IMPORT_FILTER, disallowedHosts: ['93.184.216.34'] },
    allowPrivateNetworks: false,
    allowLoopback: false,
  });
  assert.equal(denied.passesFilter('http://93.184.216.34/x.img'), false);
});
