import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedOrigin } from './forwarded.js';

test('forwardedOrigin: RFC 7239 Forwarded, first proxy only, quoted values', () => {
  assert.deepEqual(forwardedOrigin({ forwarded: 'for=192.0.2.60;proto=https;host=images.example.com, for=10.0.0.1;proto=http' }), {
    proto: 'https',
    host: 'images.example.com',
  });
  assert.deepEqual(forwardedOrigin({ forwarded: 'Proto="HTTPS";Host="[2001:db8::1]:9292"' }), { proto: 'https', host: '[2001:db8::1]:9292' });
  assert.deepEqual(forwardedOrigin({ forwarded: 'for=192.0.2.60' }), {});
});

test('forwardedOrigin: Forwarded wins over X-Forwarded-*, used only without it', () => {
  assert.deepEqual(forwardedOrigin({ forwarded: 'proto=http', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'x.example' }), { proto: 'http' });
  assert.deepEqual(forwardedOrigin({ 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'images.example.com:8443' }), {
    proto: 'https',
    host: 'images.example.com:8443',
  });
});

test('forwardedOrigin: values that are no scheme or host are ignored', () => {
  assert.deepEqual(forwardedOrigin({ 'x-forwarded-proto': 'ftp', 'x-forwarded-host': 'evil.example/path' }), {});
  assert.deepEqual(forwardedOrigin({ 'x-forwarded-host': 'a b' }), {});
  assert.deepEqual(forwardedOrigin({}), {});
});
